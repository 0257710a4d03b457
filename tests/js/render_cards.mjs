// Renders Adaptive Cards with Microsoft's JS renderer (adaptivecards, UMD build) in headless
// Chromium, driven by playwright-core, and reports per card what the renderer complained about,
// the text a person sees, and a PNG of the card.
//
//   node render_cards.mjs <job.json>
//   job: {"hostConfig": {...}, "css": "...", "width": 450,
//         "cards": [{"name": "...", "png": "/abs/path.png", "card": {...}}],
//         "markdown": {"<text>": "<html>"}}   (optional: Markdown rendered beforehand, as a host
//                                              that processes Markdown would, text by text)
//   stdout: [{"name", "events": ["parse: ...", "validation: ...", "console error: ..."], "text",
//             "links": [hrefs of the links a person could click]}]
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const job = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const renderer = require.resolve("adaptivecards/dist/adaptivecards.min.js");
const stylesheet = require.resolve("adaptivecards/dist/adaptivecards.css");

const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

// Runs in the page: parse, validate and render one card into #host.
function renderInPage({ card, hostConfig, markdown }) {
  const AC = window.AdaptiveCards;
  const events = [];
  AC.AdaptiveCard.onProcessMarkdown = markdown
    ? (text, result) => {
        if (Object.prototype.hasOwnProperty.call(markdown, text)) {
          result.outputHtml = markdown[text];
          result.didProcess = true;
        }
      }
    : undefined;
  const adaptiveCard = new AC.AdaptiveCard();
  adaptiveCard.hostConfig = new AC.HostConfig(hostConfig);
  const context = new AC.SerializationContext();
  adaptiveCard.parse(card, context);
  for (let i = 0; i < context.eventCount; i++) {
    const e = context.getEventAt(i);
    events.push(`parse: ${AC.ValidationEvent[e.event]}: ${e.message}`);
  }
  for (const e of adaptiveCard.validateProperties().validationEvents) {
    events.push(`validation: ${AC.ValidationEvent[e.event]}: ${e.message}`);
  }
  const host = document.getElementById("host");
  const element = adaptiveCard.render();
  if (!element) {
    events.push("render: the renderer returned nothing");
    host.replaceChildren();
    return { events, text: "", links: [] };
  }
  host.replaceChildren(element);
  const links = [...host.querySelectorAll("a[href]")].map((a) => a.getAttribute("href"));
  return { events, text: host.innerText, links };
}

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "pimbot-chromium-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.PIMBOT_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: CHROMIUM_FLAGS,
  viewport: { width: job.width + 40, height: 600 },
  deviceScaleFactor: 1,
  offline: true,
  // Times left to the client ({{DATE()}}, {{TIME()}}) render the same on every machine.
  timezoneId: "UTC",
  locale: "en-US",
});
try {
  const page = context.pages()[0] ?? (await context.newPage());
  let pageEvents = [];
  page.on("console", (message) => {
    if (message.type() === "error") pageEvents.push(`console error: ${message.text()}`);
  });
  page.on("pageerror", (error) => pageEvents.push(`page error: ${error.message}`));
  await page.setContent(
    `<!doctype html><html><head><meta charset="utf-8"></head>` +
      `<body style="margin:0;padding:20px;background:#f5f5f5">` +
      `<div id="host" style="width:${job.width}px;background:#fff;border-radius:4px;` +
      `box-shadow:0 1px 2px rgba(0,0,0,.15)"></div></body></html>`,
  );
  await page.addStyleTag({ path: stylesheet });
  await page.addStyleTag({ content: job.css });
  await page.addScriptTag({ path: renderer });
  const results = [];
  for (const { name, png, card } of job.cards) {
    pageEvents = [];
    const { events, text, links } = await page.evaluate(renderInPage, {
      card,
      hostConfig: job.hostConfig,
      markdown: job.markdown ?? null,
    });
    await page.locator("#host").screenshot({ path: png, animations: "disabled" });
    results.push({ name, events: [...events, ...pageEvents], text, links });
  }
  process.stdout.write(JSON.stringify(results));
} finally {
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
