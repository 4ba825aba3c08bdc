// The console's service worker: shows Web Push notices and opens their page when tapped.
"use strict";
self.addEventListener("push", (event) => {
  let notice = { title: "Cảnh giác", body: "", url: "/" };
  try { notice = Object.assign(notice, event.data.json()); } catch (error) { /* plain text */ }
  event.waitUntil(self.registration.showNotification(notice.title, {
    body: notice.body, tag: notice.tag || undefined, renotify: Boolean(notice.tag),
    requireInteraction: Boolean(notice.urgent), data: { url: notice.url }, icon: "/static/icon.svg",
  }));
});
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(clients.matchAll({ type: "window" }).then((open) => {
    for (const client of open) { if ("focus" in client) { client.navigate(url); return client.focus(); } }
    return clients.openWindow(url);
  }));
});
