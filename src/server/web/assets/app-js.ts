/** The page's only script, served from /ui/assets/app.js (a TS module so it ships inside dist/). */
export const APP_JS = `'use strict';
// Copy buttons: <button data-copy="element-id">. No inline handlers, so the CSP can forbid inline script.
document.addEventListener('click', function (event) {
  var button = event.target instanceof Element ? event.target.closest('[data-copy]') : null;
  if (!button) return;
  var source = document.getElementById(button.getAttribute('data-copy'));
  if (!source) return;
  var text = source.textContent || '';
  var done = function (ok) {
    var status = document.getElementById(button.getAttribute('data-copy') + '-status');
    if (status) status.textContent = ok ? 'Copied.' : 'Copy failed: select the text and copy it by hand.';
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(false); });
  } else {
    var range = document.createRange();
    range.selectNodeContents(source);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    done(document.execCommand && document.execCommand('copy'));
  }
});
// Forms that destroy something ask first: <form data-confirm="question">.
document.addEventListener('submit', function (event) {
  var form = event.target;
  var question = form instanceof HTMLFormElement ? form.getAttribute('data-confirm') : null;
  if (question && !window.confirm(question)) event.preventDefault();
});
`;
