// Per-item looks without style attributes. The Content-Security-Policy is `style-src 'self'`, so
// the browser refuses every style="..." attribute and <style> element in our HTML. Templates put
// a value that only the server knows (a code's colour, a tree row's depth, a bar's percentage)
// in a data- attribute; this script turns each distinct value into one rule of a constructed
// stylesheet, e.g. [data-color="#1f77b4"] { --c: #1f77b4 }, which CSP allows (it is CSSOM, not
// markup). verbatim.css says what each custom property does (.cb-swatch paints --c, .cb-link
// indents by --depth, .sg-bar__fill is --percent wide).
// Rules rather than element.style: htmx keeps a copy of the page's markup for the Back button,
// and an element's own style would be in that copy as a style="..." attribute, refused on restore.
// Values are checked against a strict pattern before they reach a rule.
(function () {
  "use strict";
  const VALUES = [
    { attribute: "data-color", property: "--c", valid: /^#[0-9a-f]{6}$/i },
    { attribute: "data-depth", property: "--depth", valid: /^\d{1,3}$/ },
    { attribute: "data-percent", property: "--percent", valid: /^\d{1,3}$/ },
  ];
  const sheet = new CSSStyleSheet();
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  const ruled = new Set();

  function paint(root) {
    for (const { attribute, property, valid } of VALUES) {
      const found = [...root.querySelectorAll(`[${attribute}]`)];
      if (root instanceof Element && root.hasAttribute(attribute)) found.push(root);
      for (const element of found) {
        const value = element.getAttribute(attribute);
        const key = `${attribute}=${value}`;
        if (ruled.has(key) || !valid.test(value)) continue;
        ruled.add(key);
        const index = sheet.insertRule(`[${attribute}="${value}"] {}`, sheet.cssRules.length);
        sheet.cssRules[index].style.setProperty(property, value);
      }
    }
  }

  paint(document);
  // htmx fires htmx:load on every piece of content it swaps in (and restores from history).
  document.addEventListener("htmx:load", (event) => {
    if (event.target instanceof Element) paint(event.target);
  });
})();
