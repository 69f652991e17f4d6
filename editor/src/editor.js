// The exam code editor: CodeMirror 6 over the form's textarea, which stays the field that is submitted.
// Without this script the textarea works on its own; with it, the textarea is hidden and kept in sync.
import { EditorState } from "@codemirror/state";
import {
  EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter, drawSelection,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { indentUnit, bracketMatching, syntaxHighlighting, defaultHighlightStyle } from "@codemirror/language";
import { python } from "@codemirror/lang-python";

const INDENT = "    ";

// CodeMirror writes its styles into a <style> element, which the Content-Security-Policy (style-src 'self') blocks,
// except inside a shadow root, where it uses a constructed style sheet instead: so the editor lives in one.
const theme = EditorView.theme({
  "&": { fontSize: "0.88rem", backgroundColor: "#fff" },
  "&.cm-focused": { outline: "none" },
  ".cm-scroller": {
    fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace",
    lineHeight: "1.45",
    minHeight: "20rem",
    maxHeight: "70vh",
    overflow: "auto",
  },
  // CodeMirror also sets tab-size in a style attribute, which the policy refuses (a console report, no harm):
  // the same rule comes from here.
  ".cm-content": { tabSize: "4" },
  ".cm-gutters": { backgroundColor: "#f4f5f8", color: "#5b6270", borderRight: "1px solid #dde1e7" },
});

function extensions(textarea, onChange) {
  const label = textarea.labels && textarea.labels[0] ? textarea.labels[0].textContent : "";
  return [
    lineNumbers(),
    highlightActiveLineGutter(),
    highlightActiveLine(),
    drawSelection(),
    history(),
    bracketMatching(),
    textarea.getAttribute("data-language") === "python" ? python() : [],
    syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
    indentUnit.of(INDENT),
    EditorState.tabSize.of(4),
    theme,
    keymap.of([indentWithTab, ...defaultKeymap, ...historyKeymap]),
    EditorView.contentAttributes.of({ "aria-label": label, spellcheck: "false", autocapitalize: "off" }),
    EditorView.updateListener.of((update) => { if (update.docChanged) { onChange(update.state.doc.toString()); } }),
  ];
}

// Drafts live in this browser only, one per attempt and task. A draft remembers which submission it was written
// after ("base"): once a newer submission exists, the draft has been handed in (or superseded) and is dropped.
function drafts(textarea) {
  const key = textarea.getAttribute("data-draft-key");
  const base = textarea.getAttribute("data-draft-base") || "";
  let storage = null;
  try { storage = window.localStorage; } catch (e) { storage = null; }
  return {
    load() {
      if (!storage || !key) { return null; }
      try {
        const draft = JSON.parse(storage.getItem(key) || "null");
        if (draft && draft.base === base && typeof draft.code === "string") { return draft.code; }
      } catch (e) { /* a damaged entry is dropped below */ }
      storage.removeItem(key);
      return null;
    },
    save(code) {
      if (!storage || !key) { return; }
      try { storage.setItem(key, JSON.stringify({ base: base, code: code, saved_at: new Date().toISOString() })); } catch (e) { /* full */ }
    },
    clear() { if (storage && key) { storage.removeItem(key); } },
  };
}

function say(note, message) {
  if (note && message) { note.textContent = message; note.hidden = false; }
}

function mount(textarea) {
  const store = drafts(textarea);
  const note = document.getElementById("editor-note");
  const saved = store.load();
  if (saved !== null && saved !== textarea.value) {
    textarea.value = saved;
    say(note, textarea.getAttribute("data-restored-label"));
  } else if (saved !== null) {
    store.clear();
  }
  const host = document.createElement("div");
  host.className = "code-editor-host";
  const shadow = host.attachShadow({ mode: "open" });
  const view = new EditorView({
    root: shadow,
    state: EditorState.create({
      doc: textarea.value,
      extensions: extensions(textarea, (code) => { textarea.value = code; store.save(code); }),
    }),
  });
  shadow.appendChild(view.dom);
  textarea.insertAdjacentElement("afterend", host);
  textarea.hidden = true;

  const reset = document.querySelector("[data-reset-starter]");
  if (reset) {
    reset.hidden = false;
    reset.addEventListener("click", () => {
      if (!window.confirm(reset.getAttribute("data-confirm"))) { return; }
      const starter = textarea.getAttribute("data-starter") || "";
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: starter } });
      store.clear();
      say(note, reset.getAttribute("data-done-label"));
      view.focus();
    });
  }
  // A file chosen for upload is what gets submitted: the draft is not this submission's code, keep it.
  const form = textarea.form;
  if (form) { form.addEventListener("submit", () => { textarea.value = view.state.doc.toString(); }); }
}

document.querySelectorAll("textarea.code-editor[data-draft-key]").forEach(mount);
