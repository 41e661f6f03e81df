// Remembers the browser's time zone so the server can show "your time" beside the
// conference's. Without JavaScript, the settings page does the same by hand.
const cookie = "sidestage_tz";
const known = document.cookie.split("; ").some((part) => part.startsWith(cookie + "="));
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
if (!known && zone) {
  // Zone names are plain ASCII ("America/New_York"): written as they are, as the server reads them.
  document.cookie = `${cookie}=${zone}; path=/; max-age=31536000; SameSite=Lax`;
  if (!sessionStorage.getItem("sidestage-zone-reloaded")) {
    sessionStorage.setItem("sidestage-zone-reloaded", "1");
    location.reload();
  }
}
