// The page's language in the browser: translated messages come with the page (the
// server extracts every _("...") in these modules into the catalogs), numbers and times
// are formatted by the browser's Intl in the same language and the viewer's zone.
import { pageData } from "./dom.js";

const strings = pageData("sidestage-strings");
export const language = document.documentElement.lang || "en";

export function _(message, values = {}) {
  const text = strings[message] || message;
  return text.replace(/%\((\w+)\)s/g, (whole, key) => (key in values ? String(values[key]) : whole));
}

const numbers = new Intl.NumberFormat(language);
export const number = (value) => numbers.format(value);
const shares = new Intl.NumberFormat(language, { style: "percent" });
export const percent = (fraction) => shares.format(fraction);

export function clock(iso, zone) {
  const options = { hour: "numeric", minute: "2-digit" };
  if (zone) options.timeZone = zone;
  return new Intl.DateTimeFormat(language, options).format(new Date(iso));
}
