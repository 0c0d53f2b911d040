// A link on every page to the same page in the other edition: English at the root, Chinese in zh/.
document.addEventListener("DOMContentLoaded", () => {
  const root = new URL(document.documentElement.dataset.content_root || "./", window.location.href);
  const page = window.location.href.slice(root.href.length).split("#")[0];
  const chinese = document.documentElement.lang.startsWith("zh");
  const link = document.createElement("a");
  link.href = new URL((chinese ? "../" : "zh/") + (page || "index.html"), root).href;
  link.textContent = chinese ? "English" : "中文";
  link.className = "bertclf-language btn btn-sm";
  link.title = chinese ? "Read this page in English" : "阅读本页的中文版";
  const bar = document.querySelector(".article-header-buttons") || document.querySelector(".bd-header-article");
  (bar || document.body).prepend(link);
});
