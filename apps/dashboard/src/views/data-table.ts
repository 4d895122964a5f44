import { html, type SafeHtml } from './html-template.js';

/**
 * A table of the pages' one style: a header row of headings (a heading starting with `#` is a
 * numeric column, right-aligned, shown without the `#`) and the rows as given.
 */
export function dataTable(headings: readonly string[], rows: unknown, className = ''): SafeHtml {
  const head = headings.map((h) =>
    h.startsWith('#') ? html`<th class="num">${h.slice(1)}</th>` : html`<th>${h}</th>`,
  );
  return html`<table class="${className}">
    <thead>
      <tr>
        ${head}
      </tr>
    </thead>
    <tbody>
      ${rows}
    </tbody>
  </table>`;
}
