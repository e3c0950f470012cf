// Chart hover values: each time step of a server-drawn SVG chart is a <g class="step" data-tip="…">; a pointer
// over one shows its values in a floating box. Delegated from the document, so charts the live script swaps
// in keep working. No inline script or style: the box is positioned through the CSSOM, which CSP allows.
(function () {
  "use strict";
  var tip = document.createElement("div");
  tip.className = "chart-tip";
  tip.setAttribute("role", "status");
  tip.hidden = true;
  document.body.appendChild(tip);

  function stepOf(target) {
    return target && target.closest ? target.closest(".chart g.step[data-tip]") : null;
  }

  function place(event) {
    var margin = 14;
    var x = event.clientX + margin;
    var y = event.clientY + margin;
    if (x + tip.offsetWidth > window.innerWidth - 8) { x = event.clientX - tip.offsetWidth - margin; }
    if (y + tip.offsetHeight > window.innerHeight - 8) { y = event.clientY - tip.offsetHeight - margin; }
    tip.style.left = Math.max(8, x) + "px";
    tip.style.top = Math.max(8, y) + "px";
  }

  document.addEventListener("pointerover", function (event) {
    var step = stepOf(event.target);
    if (!step) { return; }
    tip.textContent = step.getAttribute("data-tip");
    tip.hidden = false;
    place(event);
  });
  document.addEventListener("pointermove", function (event) {
    if (!tip.hidden && stepOf(event.target)) { place(event); }
  });
  document.addEventListener("pointerout", function (event) {
    var step = stepOf(event.target);
    if (step && !step.contains(event.relatedTarget)) { tip.hidden = true; }
  });
}());
