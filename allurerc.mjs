// Allure Report 3 configuration for `make report` (npm package `allure`, exact version in package.json).
// Relative paths resolve against the directory the command runs in (the project root for `make report`).
import { readFileSync } from "node:fs";

// One list of categories for both readers: the suite copies it into the results as categories.json
// (Allure 2 format), and Allure 3 accepts the same keys (matchedStatuses, messageRegex, traceRegex).
const categories = JSON.parse(
  readFileSync(new URL("./fixtures/allure_categories.json", import.meta.url), "utf8"),
).map(({ description, ...rule }) => rule);

export default {
  name: "recette-sas : recette connectée SAS (mTLS)",
  output: "reports/allure-report",
  // One line per run; restore this file before `make report` in CI to keep the trend (see ci-templates/).
  historyPath: "reports/history.jsonl",
  historyLimit: 30,
  categories,
  plugins: {
    awesome: {
      options: {
        // The only mode whose index.html renders when opened as a file (no fetch of data files).
        singleFile: true,
        reportLanguage: "fr",
        groupBy: ["role", "exigence"],
      },
    },
  },
};
