// The effective configuration (admin keys only), read-only: every setting with where its value
// comes from.
import { get } from "./api.js";
import { h, json, show } from "./dom.js";

export async function configPage(main, { can }) {
  if (!can("admin")) {
    show(main, h("h1", {}, "Configuration"), h("p", {}, "Only an admin key may read the configuration."));
    return null;
  }
  const config = await get("/api/v1/config");
  const sections = Object.entries(config).filter(([, value]) => value && typeof value === "object" && !Array.isArray(value));
  show(main, h("h1", {}, "Configuration"),
    h("p", {}, "Read-only: change it in the config file, or with PUT /api/v1/config."),
    sections.map(([name, value]) => h("section", {}, h("h2", {}, name), json(value))));
  return null;
}
