// Simple markup for question stems, turned into the HTML the server allows (docs/content-format.md):
//   **bold**   *italic*   lines starting "- " make a list, "1. " a numbered list, a blank line a new paragraph.
// Everything typed is escaped first, so the only HTML that comes out is what the markup makes.

const escape = (text) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function inline(text) {
  return escape(text)
    .replace(/\*\*(?=\S)(.+?)\*\*/g, "<strong>$1</strong>")
    .replace(/\*(?=\S)(.+?)\*/g, "<em>$1</em>");
}

export function markupToHtml(markup) {
  const blocks = [];
  let list = null; // {tag, items}
  let paragraph = [];
  const flushParagraph = () => {
    if (paragraph.length) blocks.push(`<p>${paragraph.map(inline).join("<br>")}</p>`);
    paragraph = [];
  };
  const flushList = () => {
    if (list) blocks.push(`<${list.tag}>${list.items.map((i) => `<li>${inline(i)}</li>`).join("")}</${list.tag}>`);
    list = null;
  };
  for (const line of String(markup || "").replace(/\r\n?/g, "\n").split("\n")) {
    const bullet = /^\s*[-*]\s+(.*)$/.exec(line);
    const numbered = /^\s*\d+[.)]\s+(.*)$/.exec(line);
    const item = bullet || numbered;
    if (item) {
      flushParagraph();
      const tag = bullet ? "ul" : "ol";
      if (list && list.tag !== tag) flushList();
      if (!list) list = { tag, items: [] };
      list.items.push(item[1]);
    } else if (!line.trim()) {
      flushParagraph();
      flushList();
    } else {
      flushList();
      paragraph.push(line);
    }
  }
  flushParagraph();
  flushList();
  return blocks.join("");
}

/** The markup for HTML the markup could have made, or null when it holds more (a table, an image): edit it as HTML. */
export function htmlToMarkup(html) {
  const template = document.createElement("template");
  template.innerHTML = html || "";
  const blocks = [];
  const MORE = {};
  const text = (node) => {
    let out = "";
    for (const child of node.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) out += child.textContent;
      else if (child.nodeName === "STRONG" || child.nodeName === "B") out += `**${text(child)}**`;
      else if (child.nodeName === "EM" || child.nodeName === "I") out += `*${text(child)}*`;
      else if (child.nodeName === "BR") out += "\n";
      else throw MORE;
    }
    return out;
  };
  try {
    convert();
  } catch (error) {
    if (error === MORE) return null;
    throw error;
  }
  const markup = blocks.join("\n\n");
  return markupToHtml(markup) === normalise(html) ? markup : null;

  function convert() {
    for (const node of template.content.childNodes) {
      if (node.nodeType === Node.TEXT_NODE) {
        if (node.textContent.trim()) blocks.push(node.textContent.trim());
      } else if (node.nodeName === "P") {
        blocks.push(text(node));
      } else if (node.nodeName === "UL" || node.nodeName === "OL") {
        const items = [];
        let n = 1;
        for (const li of node.children) {
          if (li.nodeName !== "LI") throw MORE;
          const inner = text(li);
          items.push(`${node.nodeName === "UL" ? "-" : `${n++}.`} ${inner}`);
        }
        blocks.push(items.join("\n"));
      } else {
        throw MORE;
      }
    }
  }
}

function normalise(html) {
  const template = document.createElement("template");
  template.innerHTML = html || "";
  if (!template.content.firstChild) return "";
  // A stem of plain text is one paragraph.
  if ([...template.content.childNodes].every((n) => n.nodeType === Node.TEXT_NODE)) return `<p>${escape(template.content.textContent.trim())}</p>`;
  return template.innerHTML.replace(/<br\s*\/?>/g, "<br>");
}

/** Wrap the selection of a textarea in markup (the toolbar's bold and italic), or start each selected line with it. */
export function applyMarkup(textarea, kind) {
  const { selectionStart: start, selectionEnd: end, value } = textarea;
  const selected = value.slice(start, end);
  let replacement;
  if (kind === "bold" || kind === "italic") {
    const mark = kind === "bold" ? "**" : "*";
    replacement = `${mark}${selected || (kind === "bold" ? "bold text" : "italic text")}${mark}`;
  } else {
    const lines = (selected || "item").split("\n");
    replacement = lines.map((line, i) => `${kind === "bullets" ? "-" : `${i + 1}.`} ${line.replace(/^\s*(?:[-*]|\d+[.)])\s+/, "")}`).join("\n");
    if (start > 0 && value[start - 1] !== "\n") replacement = `\n${replacement}`;
  }
  textarea.setRangeText(replacement, start, end, "select");
  textarea.dispatchEvent(new Event("input", { bubbles: true }));
  textarea.focus();
}

/** One line of markup (a choice) as HTML without a paragraph around it. */
export function inlineToHtml(markup) {
  return inline(String(markup || "").replace(/\s*\n\s*/g, " ").trim());
}

/** A choice's HTML as one line of markup, or its HTML when it holds more than bold and italic. */
export function inlineToMarkup(html) {
  if (!html) return "";
  const markup = htmlToMarkup(`<p>${html}</p>`);
  return markup === null || markup.includes("\n") ? html : markup;
}
