// Enhancements only: every page works without this file.
"use strict";

// The queue announces reports filed since it was drawn, loudly if one is urgent.
(function watchQueue() {
  const box = document.getElementById("fresh");
  if (!box) return;
  let seen = box.dataset.latest || "0";
  const titled = document.title;
  async function look() {
    try {
      const answer = await fetch("/reports/feed?after=" + encodeURIComponent(seen), { credentials: "same-origin" });
      if (!answer.ok) return;
      const data = await answer.json();
      if (!data.reports.length) return;
      const codes = data.reports.map((r) => r.code).join(", ");
      box.hidden = false;
      box.classList.toggle("calm", !data.urgent);
      box.textContent = "";
      const words = document.createElement("span");
      words.textContent = (data.urgent ? "🆘 Có tố giác KHẨN mới: " : "Có tố giác mới: ") + codes + ". ";
      const again = document.createElement("a");
      again.href = window.location.pathname + window.location.search;
      again.textContent = "Tải lại danh sách";
      box.append(words, again);
      document.title = (data.urgent ? "🆘 " : "(" + data.reports.length + ") ") + titled;
    } catch (error) { /* offline for a moment: look again later */ }
  }
  setInterval(look, 15000);
})();

// Web Push: the account page's button subscribes this browser.
(function offerPush() {
  const button = document.getElementById("push-on");
  const state = document.getElementById("push-state");
  if (!button || !("serviceWorker" in navigator) || !("PushManager" in window)) {
    if (state && button) state.textContent = "Trình duyệt này không hỗ trợ thông báo.";
    return;
  }
  button.hidden = false;
  function keyBytes(text) {
    const padded = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }
  button.addEventListener("click", async () => {
    try {
      const allowed = await Notification.requestPermission();
      if (allowed !== "granted") { state.textContent = "Chưa được phép hiện thông báo."; return; }
      const worker = await navigator.serviceWorker.register("/sw.js");
      const subscription = await worker.pushManager.subscribe({
        userVisibleOnly: true, applicationServerKey: keyBytes(button.dataset.key),
      });
      const answer = await fetch("/account/push", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF": button.dataset.csrf },
        body: JSON.stringify(subscription.toJSON()),
      });
      state.textContent = answer.ok ? "Đã bật thông báo trên thiết bị này." : "Chưa bật được, mời thử lại.";
    } catch (error) {
      state.textContent = "Chưa bật được thông báo: " + error.message;
    }
  });
})();

// Broadcasts: the chosen audience's size as it changes, a chosen time selects "later",
// and a broadcast's progress while it is being sent.
(function broadcasts() {
  const audience = document.getElementById("audience");
  const reach = document.getElementById("reach");
  if (audience && reach) {
    // Ticked units, when any, stand in for the list's choice (as the server reads the form).
    const ticks = Array.from(document.querySelectorAll("#units input[name=units]"));
    const chosen = () => {
      const units = ticks.filter((box) => box.checked).map((box) => box.value);
      return units.length ? "unit:" + units.join(",") : audience.value;
    };
    const recount = async () => {
      try {
        const answer = await fetch("/broadcasts/reach?audience=" + encodeURIComponent(chosen()), { credentials: "same-origin" });
        if (!answer.ok) return;
        const data = await answer.json();
        reach.textContent = "Hiện có " + data.reach + " người nhận.";
      } catch (error) { /* offline: the preview step shows the size */ }
    };
    audience.addEventListener("change", recount);
    for (const box of ticks) box.addEventListener("change", recount);
  }
  const later = document.getElementById("when-later");
  for (const id of ["day", "hour"]) {
    const input = document.getElementById(id);
    if (later && input) input.addEventListener("input", () => { later.checked = true; });
  }
  const box = document.getElementById("progress");
  if (!box || !box.dataset.live) return;
  const timer = setInterval(async () => {
    try {
      const answer = await fetch(box.dataset.live, { credentials: "same-origin" });
      if (!answer.ok) return;
      const data = await answer.json();
      for (const cell of box.querySelectorAll("[data-n]")) cell.textContent = data[cell.dataset.n];
      const bar = document.getElementById("progress-bar");
      if (bar) { bar.value = data.percent; bar.textContent = data.percent + "%"; }
      const status = document.getElementById("status");
      if (status) status.textContent = data.label;
      if (!data.live) clearInterval(timer);
    } catch (error) { /* offline for a moment: look again later */ }
  }, 5000);
})();
