// Remove the Google Analytics tag that Allure Report 3's awesome plugin writes into every index.html
// (hard-coded in @allurereport/plugin-awesome; ALLURE_NO_ANALYTICS only reaches the allure2 plugin).
// A conformance report of a health-software editor must not call a third party when opened.
// Usage: node scripts/strip-analytics.mjs reports/allure-report/index.html
import { readFileSync, writeFileSync } from "node:fs";

const file = process.argv[2];
if (!file) {
  console.error("usage: node scripts/strip-analytics.mjs <index.html>");
  process.exit(2);
}
const html = readFileSync(file, "utf8");
const stripped = html
  .replace(/<script[^>]*\bsrc="https:\/\/www\.googletagmanager\.com\/[^"]*"[^>]*>\s*<\/script>/g, "")
  .replace(/<script>\s*window\.dataLayer = window\.dataLayer \|\| \[\];[\s\S]*?<\/script>/g, "");
const external = stripped.match(/<script[^>]*\bsrc="(https?:)?\/\/[^"]*"/);
if (stripped.includes("googletagmanager") || stripped.includes("gtag(") || external) {
  console.error(`${file}: a third-party script is still there (${external ? external[0] : "gtag"}); not publishing it`);
  process.exit(1);
}
writeFileSync(file, stripped);
console.log(`${file}: ${html.length - stripped.length} bytes of analytics removed`);
