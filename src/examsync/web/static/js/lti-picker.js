// The LTI deep linking picker: each local date and time the instructor picks is sent as milliseconds since 1970
// (the hidden field its data-ms-field names), read in the browser's own time zone.
const form = document.querySelector("form.lti-picker");
if (form) {
  form.addEventListener("submit", () => {
    for (const input of form.querySelectorAll("input[data-ms-field]")) {
      const hidden = form.elements.namedItem(input.dataset.msField);
      const ms = input.value ? new Date(input.value).getTime() : NaN;
      hidden.value = Number.isFinite(ms) ? String(ms) : "";
    }
  });
}
