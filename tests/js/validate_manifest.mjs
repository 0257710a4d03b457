// Validates Teams app manifests against Microsoft's JSON schema for their manifestVersion, as
// bundled in @microsoft/app-manifest (no network: the schema ships inside the package).
//
//   node validate_manifest.mjs <manifest.json>...
//   stdout: {"<path>": ["<instancePath> <message>", ...], ...}   (an empty list: valid)
import fs from "node:fs";
import pkg from "@microsoft/app-manifest";

const { AppManifestUtils } = pkg;
const report = {};
for (const file of process.argv.slice(2)) {
  const manifest = JSON.parse(fs.readFileSync(file, "utf8"));
  const errors = await AppManifestUtils.validateAgainstSchema(manifest);
  report[file] = errors.map((e) =>
    typeof e === "string" ? e : `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params ?? {})}`,
  );
}
process.stdout.write(JSON.stringify(report));
