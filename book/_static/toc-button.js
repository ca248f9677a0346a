// The page's table of contents as a drawer. Between 1200 and 1600 px the book gives the
// "On this page" column to the code (custom.css); its header button then opens the same
// contents as the theme's drawer does on narrow screens.
document.addEventListener("DOMContentLoaded", () => {
  const themeToggle = document.querySelector(".secondary-toggle");   // the one the theme listens to
  document.querySelectorAll(".bd-header-article .secondary-toggle").forEach((button) => {
    if (button === themeToggle) return;
    button.addEventListener("click", (event) => {
      event.preventDefault();
      themeToggle.click();
    });
  });
});
