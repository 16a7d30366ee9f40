// Charts of the analytics pages: each .chart[data-src] reads its JSON analytics
// endpoint (the staff API, same origin, the console's session cookie) and draws it with
// plotly (served from the installed Python package, never a CDN).
(function () {
  "use strict";
  var layoutBase = { margin: { t: 30, r: 20, b: 50, l: 60 }, height: 340, legend: { orientation: "h" } };
  // No mode bar: these charts are read, not zoomed or exported.
  var config = { displaylogo: false, displayModeBar: false, responsive: true };

  function table(report, name) {
    var found = report.tables.filter(function (t) { return t.name === name; })[0];
    if (!found) { return []; }
    return found.rows.map(function (row) {
      var o = {};
      found.columns.forEach(function (c, i) { o[c] = row[i]; });
      return o;
    });
  }
  // Business months (2026-12) and days (2026-12-06) are periods, not instants: on a date
  // axis a single point zooms to milliseconds around its midnight ("23:59:59.9996"). A
  // category axis labels each period as written, the same in both languages; periods
  // missing between the first and the last are kept as gaps so spacing still reads as time.
  var PERIOD = /^(\d{4})-(\d{2})(?:-(\d{2}))?$/;
  var periodAxis = { type: "category", categoryorder: "array" };
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function timeline(values) {
    var keys = values.filter(function (v) { return PERIOD.test(v); }).sort();
    if (keys.length !== values.length || !keys.length) { return values; }
    var first = PERIOD.exec(keys[0]), last = keys[keys.length - 1], days = first[3] !== undefined;
    var at = new Date(Date.UTC(+first[1], +first[2] - 1, days ? +first[3] : 1)), out = [];
    while (out.length < 5000) {
      var key = at.getUTCFullYear() + "-" + pad(at.getUTCMonth() + 1) + (days ? "-" + pad(at.getUTCDate()) : "");
      out.push(key);
      if (key >= last) { return out; }
      if (days) { at.setUTCDate(at.getUTCDate() + 1); } else { at.setUTCMonth(at.getUTCMonth() + 1); }
    }
    return keys;
  }
  // A table keyed by its period column, over the whole timeline (null where no row).
  function byPeriod(rows, c) {
    var x = timeline(col(rows, c)), index = {};
    rows.forEach(function (r) { index[r[c]] = r; });
    return { x: x, axis: Object.assign({}, periodAxis, { categoryarray: x }),
             y: function (name) { return x.map(function (k) { return index[k] ? num(index[k][name]) : null; }); } };
  }

  var labels = {};
  function label(key) { return labels[key] || key; }
  function num(v) { return v === null || v === undefined ? null : Number(v); }
  function col(rows, c) { return rows.map(function (r) { return r[c]; }); }
  function ncol(rows, c) { return rows.map(function (r) { return num(r[c]); }); }

  var draw = {
    funnel: function (r) {
      var s = table(r, "stages");
      return [[{ type: "funnel", y: col(s, "stage").map(label), x: ncol(s, "count") }],
              { margin: { t: 20, r: 20, b: 30, l: 110 } }];
    },
    approvals: function (r) {
      var d = byPeriod(table(r, "daily"), "day"), scores = d.y("average_score");
      var traces = [{ type: "scatter", name: label("approval_rate"), x: d.x, y: d.y("approval_rate") }];
      var layout = { xaxis: d.axis, yaxis: { tickformat: ".0%", range: [0, 1.05] } };
      // No scored application (e.g. the basic policy): no score axis with a made-up range.
      if (scores.some(function (v) { return v !== null; })) {
        traces.push({ type: "scatter", name: label("average_score"), x: d.x, y: scores, yaxis: "y2" });
        layout.yaxis2 = { overlaying: "y", side: "right" };
      }
      return [traces, layout];
    },
    vintage: function (r) {
      var rows = table(r, "curves"), cohorts = {};
      rows.forEach(function (x) { (cohorts[x.cohort] = cohorts[x.cohort] || []).push(x); });
      return [Object.keys(cohorts).sort().map(function (c) {
        return { type: "scatter", mode: "lines+markers", name: c,
                 x: col(cohorts[c], "mob"), y: ncol(cohorts[c], "bad_rate") };
      }), { xaxis: { title: "MOB" }, yaxis: { tickformat: ".1%", title: "30+ DPD" } }];
    },
    roll_rates: function (r) {
      var m = table(r, "matrix"), from = [], to = [];
      m.forEach(function (x) {
        if (from.indexOf(x.from_state) < 0) { from.push(x.from_state); }
        if (to.indexOf(x.to_state) < 0) { to.push(x.to_state); }
      });
      var z = from.map(function (f) {
        return to.map(function (t) {
          var cell = m.filter(function (x) { return x.from_state === f && x.to_state === t; })[0];
          return cell ? num(cell.share) : null;
        });
      });
      // Plotly sets style attributes, which the CSP refuses, on a colour bar's cells and on
      // a gapless heatmap's image: no bar (each cell prints its share), 1 px between cells.
      return [[{ type: "heatmap", x: to, y: from, z: z, colorscale: "Reds", texttemplate: "%{z:.0%}",
                 showscale: false, xgap: 1, ygap: 1 }],
              { yaxis: { autorange: "reversed" } }];
    },
    dpd: function (r) {
      var b = table(r, "buckets");
      return [[{ type: "bar", x: col(b, "bucket"), y: ncol(b, "outstanding_yuan"), name: label("outstanding_yuan") }], {}];
    },
    recovery: function (r) {
      var b = table(r, "buckets").filter(function (x) { return x.cure_rate !== null; });
      return [[{ type: "bar", x: b.map(function (x) { return x.period_end + " " + x.bucket; }),
                 y: ncol(b, "cure_rate"), name: label("cure_rate") }],
              { xaxis: { type: "category" }, yaxis: { tickformat: ".0%" } }];
    },
    monitoring: function (r) {
      var p = byPeriod(table(r, "psi"), "month");
      // The alert threshold (PSI 0.25) stays in view however stable the scores are.
      return [[{ type: "bar", x: p.x, y: p.y("psi"), name: "PSI" }],
              { xaxis: p.axis, yaxis: { autorangeoptions: { include: [0, 0.3] } },
                shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: 0.25, y1: 0.25,
                           line: { color: "#c0392b", dash: "dash" } }] }];
    },
    funders: function (r) {
      var u = table(r, "utilisation");
      return [[
        { type: "bar", name: label("concentration"), x: col(u, "funder"), y: ncol(u, "concentration") },
        { type: "bar", name: label("quota_use"), x: col(u, "funder"), y: ncol(u, "quota_use") },
        { type: "bar", name: label("daily_use"), x: col(u, "funder"), y: ncol(u, "daily_use") }
      ], { barmode: "group", yaxis: { tickformat: ".0%" } }];
    },
    pnl: function (r) {
      var m = byPeriod(table(r, "monthly"), "month");
      var series = ["interest_income", "fee_income", "penalty_income", "recovery_income",
                    "cost_of_funds", "credit_losses", "data_costs", "net"];
      return [series.map(function (s) {
        var sign = ["cost_of_funds", "credit_losses", "data_costs"].indexOf(s) >= 0 ? -1 : 1;
        return { type: s === "net" ? "scatter" : "bar", name: label(s), x: m.x,
                 y: m.y(s).map(function (v) { return v === null ? null : sign * v; }) };
      }), { barmode: "relative", xaxis: m.axis }];
    },
    stress: function (r) {
      var p = table(r, "by_product");
      return [[
        { type: "bar", name: label("expected_loss_yuan"), x: col(p, "key"), y: ncol(p, "expected_loss_yuan") },
        { type: "bar", name: label("capital_yuan"), x: col(p, "key"), y: ncol(p, "capital_yuan") }
      ], { barmode: "group" }];
    }
  };

  // A chart has data when one of its traces holds a number other than zero: plotly
  // draws empty traces as meaningless axes (-1…6, -100%…400%).
  function hasData(traces) {
    function numeric(v) {
      if (Array.isArray(v)) { return v.some(numeric); }
      return typeof v === "number" && isFinite(v) && v !== 0;
    }
    return traces.some(function (t) {
      return ["x", "y", "z"].some(function (k) { return Array.isArray(t[k]) && t[k].some(numeric); });
    });
  }
  function placeholder(el) {
    var p = document.createElement("p");
    p.className = "chart-empty";
    p.setAttribute("data-testid", "chart-empty");
    p.textContent = label("chart.empty");
    el.replaceChildren(p);
    el.classList.add("empty");
    el.dataset.empty = "true";
    el.dataset.drawn = "true";
  }

  function render(el) {
    labels = JSON.parse(el.dataset.labels || "{}");
    fetch(el.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.json();
      })
      .then(function (report) {
        var make = draw[el.dataset.report];
        if (!make || !window.Plotly) { return; }
        var spec = make(report);
        if (!hasData(spec[0])) { placeholder(el); return; }
        window.Plotly.newPlot(el, spec[0], Object.assign({}, layoutBase, spec[1]), config)
          .then(function () { el.dataset.drawn = "true"; });
      })
      .catch(function () { el.dataset.drawn = "failed"; el.classList.add("failed"); });
  }
  document.querySelectorAll(".chart[data-src]").forEach(render);
})();
