// The Markdown subset Teams renders in bot messages and TextBlocks (bold, italic, code, links,
// lists, line breaks), as HTML that can only contain the tags made here: the text is escaped
// first, so whatever a person typed (a reason, a ticket, a name) stays text.
"use strict";

(() => {
  const HTML_ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  const HOLE = "\u0000"; // marks a piece set aside; removed from the input first

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
  }

  // One line of Markdown (already free of block syntax) as HTML.
  function inline(line) {
    const held = [];
    const hold = (html) => {
      held.push(html);
      return HOLE + (held.length - 1) + HOLE;
    };
    let out = escapeHtml(line);
    out = out.replace(/\\([\\`*_[\]()#+\-.!~])/g, (_, c) => hold(c));
    out = out.replace(/`([^`]+)`/g, (_, code) => hold("<code>" + code + "</code>"));
    out = out.replace(
      /\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)/g,
      (_, label, url) =>
        hold('<a href="' + url + '" target="_blank" rel="noopener noreferrer">' + label + "</a>"),
    );
    out = out.replace(/\*\*(?=\S)(.+?)\*\*/g, "<strong>$1</strong>");
    out = out.replace(/__(?=\S)(.+?)__/g, "<strong>$1</strong>");
    out = out.replace(/(^|[^\w*])\*(?=\S)([^*]+?)\*(?![\w*])/g, "$1<em>$2</em>");
    out = out.replace(/(^|[^\w])_(?=\S)([^_]+?)_(?!\w)/g, "$1<em>$2</em>");
    out = out.replace(/~~(?=\S)(.+?)~~/g, "<s>$1</s>");
    // Restore held pieces (a held piece may hold another: a link label with code in it).
    const restore = new RegExp(HOLE + "(\\d+)" + HOLE, "g");
    for (let depth = 0; depth < 3 && out.includes(HOLE); depth++) {
      out = out.replace(restore, (_, i) => held[Number(i)]);
    }
    return out;
  }

  function toHtml(text) {
    const source = String(text ?? "").split(HOLE).join("").replace(/\r\n?/g, "\n");
    const blocks = source.split(/\n{2,}/).filter((block) => block.trim() !== "");
    return blocks
      .map((block) => {
        const lines = block.split("\n");
        if (lines.every((line) => /^\s*[-*+] /.test(line))) {
          const items = lines.map((line) => "<li>" + inline(line.replace(/^\s*[-*+] /, "")) + "</li>");
          return "<ul>" + items.join("") + "</ul>";
        }
        if (lines.every((line) => /^\s*\d+\. /.test(line))) {
          const items = lines.map((line) => "<li>" + inline(line.replace(/^\s*\d+\. /, "")) + "</li>");
          return "<ol>" + items.join("") + "</ol>";
        }
        return "<p>" + lines.map(inline).join("<br>") + "</p>";
      })
      .join("");
  }

  window.PimbotMarkdown = { toHtml, escapeHtml };
})();
