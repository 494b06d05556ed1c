// Posts the deep linking answer to the LMS as soon as the page has loaded (the button does it by hand otherwise).
const form = document.querySelector("form[data-autosubmit]");
if (form) form.submit();
