// Kessai back-office: small progressive enhancements. Every feature also works without JavaScript
// (forms post normally); this adds modal dialogs, copy buttons, drag-and-drop sorting, select-all,
// and the live line total of 金額変更.
(function () {
  "use strict";

  function csrfToken() {
    const m = document.querySelector("meta[name=csrf-token]");
    return m ? m.content : "";
  }

  document.addEventListener("htmx:configRequest", function (e) {
    e.detail.headers["X-CSRFToken"] = csrfToken();
  });

  document.addEventListener("click", function (e) {
    const opener = e.target.closest("[data-dialog-open]");
    if (opener) {
      const dlg = document.getElementById(opener.dataset.dialogOpen);
      if (dlg && typeof dlg.showModal === "function") {
        e.preventDefault();
        dlg.showModal();
      }
      return;
    }
    const closer = e.target.closest("[data-dialog-close]");
    if (closer) {
      const dlg = closer.closest("dialog");
      if (dlg) dlg.close();
      return;
    }
    const copy = e.target.closest("[data-copy]");
    if (copy) {
      const input = document.getElementById(copy.dataset.copy);
      if (!input) return;
      const done = function () {
        const status = document.getElementById(copy.dataset.copy + "-status");
        if (status) status.textContent = copy.dataset.copiedText || "コピーしました";
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () { input.select(); });
      } else {
        input.select();
        document.execCommand("copy");
        done();
      }
    }
  });

  // Select-all checkboxes: <input type=checkbox data-select-all="name">
  document.addEventListener("change", function (e) {
    const all = e.target.closest("[data-select-all]");
    if (all) {
      const form = all.form || document;
      form.querySelectorAll('input[type=checkbox][name="' + all.dataset.selectAll + '"]').forEach(function (cb) {
        if (!cb.disabled) cb.checked = all.checked;
      });
    }
    if (e.target.closest("[data-line]")) recomputeTotal(e.target.closest("form"));
  });
  document.addEventListener("input", function (e) {
    if (e.target.closest("[data-line]")) recomputeTotal(e.target.closest("form"));
  });

  function recomputeTotal(form) {
    if (!form) return;
    let total = 0;
    form.querySelectorAll("[data-line]").forEach(function (row) {
      const price = parseInt((row.querySelector("[name=unit_price]") || {}).value || "0", 10);
      const qty = parseInt((row.querySelector("[name=quantity]") || {}).value || "0", 10);
      if (!isNaN(price) && !isNaN(qty)) total += price * qty;
    });
    const out = form.querySelector("[name=amount]");
    if (out) out.value = String(total);
  }

  // Drag-and-drop sorting (HTML5 DnD). The list sits in a form whose hidden inputs carry the order;
  // after a drop the form is submitted. Keyboard users use the 上へ / 下へ buttons (plain form posts).
  function initSortable(list) {
    let dragged = null;
    list.querySelectorAll("li[draggable]").forEach(function (item) {
      item.addEventListener("dragstart", function (e) {
        dragged = item;
        item.classList.add("dragging");
        e.dataTransfer.effectAllowed = "move";
        e.dataTransfer.setData("text/plain", item.dataset.id);
      });
      item.addEventListener("dragend", function () {
        item.classList.remove("dragging");
        list.querySelectorAll(".drop-target").forEach(function (el) { el.classList.remove("drop-target"); });
      });
      item.addEventListener("dragover", function (e) {
        if (!dragged || dragged === item) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = "move";
        item.classList.add("drop-target");
      });
      item.addEventListener("dragleave", function () { item.classList.remove("drop-target"); });
      item.addEventListener("drop", function (e) {
        e.preventDefault();
        item.classList.remove("drop-target");
        if (!dragged || dragged === item) return;
        // Dropped on the upper half of an item: insert before it; on the lower half: after it.
        const rect = item.getBoundingClientRect();
        if (e.clientY < rect.top + rect.height / 2) {
          item.before(dragged);
        } else {
          item.after(dragged);
        }
        submitOrder(list);
      });
    });
  }

  function submitOrder(list) {
    const form = document.getElementById(list.dataset.sortable);
    if (!form) return;
    form.querySelectorAll("input[name=order]").forEach(function (el) { el.remove(); });
    list.querySelectorAll("li[draggable]").forEach(function (li) {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = "order";
      input.value = li.dataset.id;
      form.appendChild(input);
    });
    form.submit();
  }

  function init(root) {
    root.querySelectorAll("[data-sortable]").forEach(initSortable);
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (e) { init(e.target); });
})();
