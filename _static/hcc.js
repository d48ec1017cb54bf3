// Click a figure to see it enlarged (offline, no library). Escape, a click or the button closes it.
// On a small screen the enlarged figure is shown at its natural size and can be scrolled.
(function () {
  "use strict";
  function open(img) {
    var box = document.createElement("div");
    box.className = "hcc-lightbox";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-label", "Enlarged figure: " + (img.alt || ""));
    var big = document.createElement("img");
    big.src = img.currentSrc || img.src;
    big.alt = img.alt || "";
    var close = document.createElement("button");
    close.className = "hcc-lightbox-close";
    close.setAttribute("aria-label", "Close");
    close.textContent = "\u00d7";
    box.appendChild(big);
    box.appendChild(close);
    if (window.innerWidth < 700) { box.classList.add("hcc-lightbox-wide"); }
    function shut() { box.remove(); document.removeEventListener("keydown", key); img.focus(); }
    function key(e) { if (e.key === "Escape") { shut(); } }
    box.addEventListener("click", shut);
    document.addEventListener("keydown", key);
    document.body.appendChild(box);
    close.focus();
  }
  function init() {
    var imgs = document.querySelectorAll(".cell_output img, figure img");
    imgs.forEach(function (img) {
      if (img.closest("a")) { return; }
      img.setAttribute("tabindex", "0");
      img.setAttribute("title", "Click to enlarge");
      img.addEventListener("click", function () { open(img); });
      img.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(img); }
      });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); }
  else { init(); }
})();
