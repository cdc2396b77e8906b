// The graph viewer: pan and zoom, collapsible and drillable clusters, search, tooltips, and a step-through
// of the backward pass, on an SVG laid out by Graphviz's dot. It reads only what dot writes: <g class="node">,
// <g class="cluster">, <g class="edge grad-step-K"> with a <title> each, tooltips as xlink:title, and the
// gradient text in the configured colour. Which cluster holds which node is read from the layout: dot
// draws every cluster as a rectangle around its own nodes and no others.
(function () {
  "use strict";
  const XLINK = "http://www.w3.org/1999/xlink";
  const config = JSON.parse(document.getElementById("viewer-config").textContent);
  const gradientColor = String(config.gradientColor).toLowerCase();
  const canvas = document.getElementById("canvas");
  const svg = canvas.querySelector("svg");
  const tooltip = document.getElementById("tooltip");
  const breadcrumb = document.getElementById("breadcrumb");

  // ---------------------------------------------------------------- pan and zoom (on the viewBox)
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  const base = svg.viewBox.baseVal;
  const home = { x: base.x, y: base.y, w: base.width, h: base.height };
  let view = Object.assign({}, home);

  function setView(v) {
    view = v;
    svg.setAttribute("viewBox", v.x + " " + v.y + " " + v.w + " " + v.h);
  }

  function toUser(clientX, clientY) {
    return new DOMPoint(clientX, clientY).matrixTransform(svg.getScreenCTM().inverse());
  }

  function zoomAt(factor, cx, cy) { // factor > 1 zooms in; the point (cx, cy) stays where it is
    setView({ x: cx - (cx - view.x) / factor, y: cy - (cy - view.y) / factor, w: view.w / factor, h: view.h / factor });
  }

  function zoomCentre(factor) {
    zoomAt(factor, view.x + view.w / 2, view.y + view.h / 2);
  }

  function rootBox(el) { // el's bounding box in the svg's own (viewBox) coordinates
    const b = el.getBBox();
    const m = svg.getScreenCTM().inverse().multiply(el.getScreenCTM());
    const p = new DOMPoint(b.x, b.y).matrixTransform(m);
    const q = new DOMPoint(b.x + b.width, b.y + b.height).matrixTransform(m);
    return { x: Math.min(p.x, q.x), y: Math.min(p.y, q.y), w: Math.abs(q.x - p.x), h: Math.abs(q.y - p.y) };
  }

  function zoomTo(box) {
    const pad = 0.05 * Math.max(box.w, box.h);
    setView({ x: box.x - pad, y: box.y - pad, w: box.w + 2 * pad, h: box.h + 2 * pad });
  }

  let drag = null; // {x, y, view, moved}
  let justDragged = false;
  canvas.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    drag = { x: e.clientX, y: e.clientY, view: Object.assign({}, view), moved: false, id: e.pointerId };
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (!drag.moved && Math.hypot(dx, dy) < 4) return; // a click, not a drag
    if (!drag.moved) {
      drag.moved = true;
      canvas.setPointerCapture(drag.id);
      canvas.classList.add("panning");
    }
    const scale = svg.getScreenCTM().a; // screen pixels per user unit
    setView({ x: drag.view.x - dx / scale, y: drag.view.y - dy / scale, w: drag.view.w, h: drag.view.h });
  });
  function endDrag() {
    if (drag && drag.moved) {
      justDragged = true; // swallow the click that ends a drag
      setTimeout(() => { justDragged = false; }, 0);
    }
    drag = null;
    canvas.classList.remove("panning");
  }
  canvas.addEventListener("pointerup", endDrag);
  canvas.addEventListener("pointercancel", endDrag);
  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    const p = toUser(e.clientX, e.clientY);
    zoomAt(Math.exp(-e.deltaY * 0.0015), p.x, p.y);
  }, { passive: false });
  document.getElementById("zoom-in").addEventListener("click", () => zoomCentre(1.25));
  document.getElementById("zoom-out").addEventListener("click", () => zoomCentre(0.8));
  document.getElementById("zoom-fit").addEventListener("click", () => drill(null));

  // ---------------------------------------------------------------- the graph as dot drew it
  function texts(el) {
    return Array.from(el.querySelectorAll("text"), (t) => t.textContent.trim()).filter((t) => t).join("\n");
  }

  function takeTooltip(el) { // read the xlink:title dot wrote, and remove it so the browser's own tip stays away
    let tip = "";
    for (const a of el.querySelectorAll("a")) {
      tip = tip || a.getAttributeNS(XLINK, "title") || a.getAttribute("xlink:title") || "";
      a.removeAttributeNS(XLINK, "title");
      a.removeAttribute("xlink:title");
    }
    return tip;
  }

  const titleOf = (el) => { const t = el.querySelector("title"); return t ? t.textContent : ""; };

  const nodes = new Map();
  for (const el of svg.querySelectorAll("g.node")) {
    const label = texts(el);
    const name = titleOf(el);
    nodes.set(name, { name, el, label, tooltip: takeTooltip(el) || label, box: el.getBBox(), clusters: [] });
  }

  const clusters = [];
  for (const el of svg.querySelectorAll("g.cluster")) {
    const shape = el.querySelector("polygon, path");
    if (!shape) continue;
    clusters.push({ name: titleOf(el), el, label: texts(el), tooltip: takeTooltip(el), box: shape.getBBox(), shape,
                    parent: null, ancestors: [], members: [], collapsed: false });
  }

  const area = (b) => b.width * b.height;
  const inside = (b, o) => b.x >= o.x - 0.5 && b.y >= o.y - 0.5 && b.x + b.width <= o.x + o.width + 0.5 &&
                           b.y + b.height <= o.y + o.height + 0.5;
  const innermost = (box, except) => clusters.filter((c) => c !== except && inside(box, c.box))
    .sort((a, b) => area(a.box) - area(b.box))[0] || null;

  for (const c of clusters) c.parent = innermost(c.box, c);
  for (const c of clusters) {
    for (let p = c.parent; p; p = p.parent) c.ancestors.push(p); // innermost first
  }
  for (const node of nodes.values()) {
    const c = innermost(node.box, null);
    if (c) node.clusters = [c].concat(c.ancestors);
    for (const k of node.clusters) k.members.push(node);
  }

  const edges = [];
  for (const el of svg.querySelectorAll("g.edge")) {
    const ends = titleOf(el).split(/->|--/).map((s) => (nodes.has(s) ? s : s.replace(/:[^:]*$/, "")));
    const step = /(?:^|\s)grad-step-(\d+)(?:\s|$)/.exec(el.getAttribute("class") || "");
    const gradTexts = Array.from(el.querySelectorAll("text"))
      .filter((t) => (t.getAttribute("fill") || "").toLowerCase() === gradientColor);
    edges.push({ el, tail: nodes.get(ends[0]), head: nodes.get(ends[1]), step: step ? Number(step[1]) : null,
                 gradTexts, label: texts(el), tooltip: takeTooltip(el) });
  }

  // ---------------------------------------------------------------- collapse and expand
  const hiddenBy = (node) => { // the outermost collapsed cluster around node, if any
    let found = null;
    for (const c of node ? node.clusters : []) if (c.collapsed) found = c;
    return found;
  };

  function note(c) { // the text in a collapsed layer's box: how many nodes it hides
    if (!c.note) {
      c.note = document.createElementNS("http://www.w3.org/2000/svg", "text");
      c.note.setAttribute("class", "collapsed-note");
      c.note.setAttribute("text-anchor", "middle");
      c.note.setAttribute("x", String(c.box.x + c.box.width / 2));
      c.note.setAttribute("y", String(c.box.y + c.box.height / 2));
      c.note.textContent = c.members.length + " nodes (click to expand)";
      c.el.appendChild(c.note);
    }
    return c.note;
  }

  function refresh() {
    for (const node of nodes.values()) node.el.classList.toggle("viewer-hidden", hiddenBy(node) !== null);
    for (const c of clusters) {
      c.el.classList.toggle("viewer-hidden", c.ancestors.some((a) => a.collapsed));
      c.el.classList.toggle("collapsed", c.collapsed);
      if (c.collapsed || c.note) note(c).classList.toggle("viewer-hidden", !c.collapsed);
    }
    for (const e of edges) { // an edge inside one collapsed box disappears; one that enters it stays
      const t = hiddenBy(e.tail), h = hiddenBy(e.head);
      e.el.classList.toggle("viewer-hidden", t !== null && t === h);
    }
    search(searchBox.value);
  }

  function toggle(cluster) {
    cluster.collapsed = !cluster.collapsed;
    refresh();
  }

  document.getElementById("expand-all").addEventListener("click", () => {
    for (const c of clusters) c.collapsed = false;
    refresh();
  });
  document.getElementById("collapse-all").addEventListener("click", () => { // the top-level picture
    for (const c of clusters) c.collapsed = c.parent === null;
    refresh();
  });

  // ---------------------------------------------------------------- drill down, with a breadcrumb back
  function drill(cluster) {
    const inScope = (node) => cluster === null || node.clusters.includes(cluster);
    for (const node of nodes.values()) node.el.classList.toggle("dimmed", !inScope(node));
    for (const e of edges) e.el.classList.toggle("dimmed", !(e.tail && inScope(e.tail) && e.head && inScope(e.head)));
    for (const c of clusters) {
      c.el.classList.toggle("dimmed", cluster !== null && c !== cluster && !c.ancestors.includes(cluster));
    }
    breadcrumb.textContent = "";
    const path = cluster ? cluster.ancestors.slice().reverse().concat([cluster]) : [];
    const crumb = (text, target) => {
      const a = document.createElement("a");
      a.textContent = text;
      a.addEventListener("click", () => drill(target));
      return a;
    };
    breadcrumb.append(cluster ? crumb("All", null) : document.createTextNode("All"));
    path.forEach((c, i) => {
      breadcrumb.append(" \u203a ");
      breadcrumb.append(i < path.length - 1 ? crumb(c.label, c) : document.createTextNode(c.label));
    });
    if (cluster) {
      cluster.collapsed = false;
      for (const a of cluster.ancestors) a.collapsed = false;
      refresh();
      zoomTo(rootBox(cluster.shape));
    } else {
      setView(Object.assign({}, home));
    }
  }

  for (const c of clusters) {
    c.el.addEventListener("click", (e) => {
      if (justDragged) return;
      e.stopPropagation();
      toggle(c);
    });
    c.el.addEventListener("dblclick", (e) => {
      e.stopPropagation();
      drill(c);
    });
  }

  // ---------------------------------------------------------------- search
  const searchBox = document.getElementById("search");
  const searchCount = document.getElementById("search-count");

  function search(query) {
    const q = query.trim().toLowerCase();
    let count = 0;
    for (const c of clusters) c.el.classList.toggle("match", q !== "" && c.label.toLowerCase().includes(q));
    const matched = new Set();
    for (const node of nodes.values()) {
      const text = [node.label, node.tooltip].concat(node.clusters.map((c) => c.label)).join("\n").toLowerCase();
      const match = q !== "" && text.includes(q);
      if (match) {
        matched.add(node);
        count += 1;
        const box = hiddenBy(node);
        if (box) box.el.classList.add("match"); // the match is inside a collapsed layer: mark the layer
      }
      node.el.classList.toggle("match", match);
      node.el.classList.toggle("unmatched", q !== "" && !match);
    }
    for (const e of edges) e.el.classList.toggle("unmatched", q !== "" && !matched.has(e.tail) && !matched.has(e.head));
    searchCount.textContent = q === "" ? "" : count + (count === 1 ? " node" : " nodes");
  }

  searchBox.addEventListener("input", () => search(searchBox.value));
  searchBox.addEventListener("keydown", (e) => {
    if (e.key === "Escape") { searchBox.value = ""; search(""); }
  });

  // ---------------------------------------------------------------- tooltips
  function showTip(text, e) {
    tooltip.textContent = text;
    tooltip.hidden = false;
    moveTip(e);
  }
  function moveTip(e) {
    const x = Math.min(e.clientX + 14, window.innerWidth - tooltip.offsetWidth - 4);
    const y = Math.min(e.clientY + 14, window.innerHeight - tooltip.offsetHeight - 4);
    tooltip.style.left = Math.max(0, x) + "px";
    tooltip.style.top = Math.max(0, y) + "px";
  }
  function hideTip() { tooltip.hidden = true; }

  function hover(el, textOf) {
    el.addEventListener("mouseenter", (e) => showTip(textOf(), e));
    el.addEventListener("mousemove", moveTip);
    el.addEventListener("mouseleave", hideTip);
  }
  for (const node of nodes.values()) hover(node.el, () => node.tooltip);
  for (const e of edges) {
    hover(e.el, () => e.tooltip || [(e.tail ? e.tail.label : "?") + " \u2192 " + (e.head ? e.head.label : "?"), e.label]
      .filter((s) => s).join("\n"));
  }
  for (const c of clusters) {
    hover(c.el, () => [c.label, c.tooltip, c.members.length + " nodes; click to " +
      (c.collapsed ? "expand" : "collapse") + ", double-click to drill in"].filter((s) => s).join("\n"));
  }

  // ---------------------------------------------------------------- step through the backward pass
  const gradEdges = edges.filter((e) => e.step !== null);
  const steps = gradEdges.length ? Math.max.apply(null, gradEdges.map((e) => e.step)) + 1 : 0;
  const slider = document.getElementById("step-slider");
  const stepLabel = document.getElementById("step-label");
  let step = steps;
  slider.max = String(steps);

  function setStep(s, highlight) { // show the cotangents of the first s steps (0 = the edge into the output)
    step = Math.max(0, Math.min(steps, s));
    for (const e of gradEdges) {
      for (const t of e.gradTexts) t.classList.toggle("grad-hidden", e.step >= step);
      e.el.classList.toggle("current", highlight && e.step === step - 1);
    }
    slider.value = String(step);
    stepLabel.textContent = "step " + step + " / " + steps;
  }

  if (steps === 0) { // no gradients drawn: no step-through, and no colour legend for them
    document.getElementById("step-controls").hidden = true;
    for (const key of document.querySelectorAll("#legend .fwd, #legend .grad")) key.hidden = true;
  } else {
    document.getElementById("step-reset").addEventListener("click", () => setStep(0, true));
    document.getElementById("step-back").addEventListener("click", () => setStep(step - 1, true));
    document.getElementById("step-next").addEventListener("click", () => setStep(step + 1, true));
    slider.addEventListener("input", () => setStep(Number(slider.value), true));
    document.addEventListener("keydown", (e) => {
      if (e.target === searchBox) return;
      if (e.key === "ArrowRight") setStep(step + 1, true);
      if (e.key === "ArrowLeft") setStep(step - 1, true);
    });
    setStep(steps, false);
  }

  drill(null);
})();
