import { html, SafeHtml } from './html-template.js';
import { can, homePath } from '../auth/roles.js';
import type { CurrentUser } from '../auth/access-control.js';

export interface PageOptions {
  title: string;
  user?: CurrentUser | undefined;
  /** Needed for the logout button when a user is logged in. */
  csrfToken?: string | undefined;
  /** Which navigation entry is highlighted. */
  section?: 'batches' | 'status' | 'board' | 'review' | 'research';
  /** Reload the page every so many seconds (the status page). */
  refreshSeconds?: number | undefined;
  body: SafeHtml;
}

const STYLE = `
  :root { --fg:#1d2330; --muted:#5b6475; --line:#d9dee7; --bg:#f6f7fa; --accent:#2457c5; --bad:#b3261e; --ok:#1e7d32; --warn:#a15c00; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--fg); background:var(--bg); }
  header { display:flex; flex-wrap:wrap; align-items:center; gap:8px 20px; padding:10px 24px; background:#1d2330; color:#fff; }
  header .brand { font-weight:600; letter-spacing:.02em; }
  header nav { display:flex; flex-wrap:wrap; gap:4px; flex:1 1 auto; }
  header nav a { color:#cfd6e4; text-decoration:none; padding:6px 10px; border-radius:6px; }
  header nav a.active, header nav a:hover { background:#323b4f; color:#fff; }
  header .account { margin:0; display:flex; flex-wrap:wrap; align-items:center; gap:10px; color:#cfd6e4; }
  header .account .role { color:#aab3c5; }
  header button, header a.button { background:#323b4f; border:1px solid #56607a; color:#fff; border-radius:6px; padding:4px 10px; cursor:pointer; font:inherit; text-decoration:none; }
  @media (max-width: 640px) {
    header { padding:10px 12px; }
    main { padding:16px 12px 40px; }
    table { display:block; overflow-x:auto; }
  }
  a.button.primary { display:inline-block; background:var(--accent); color:#fff; border-radius:6px; padding:8px 14px; text-decoration:none; font-weight:600; }
  .actions { display:flex; flex-wrap:wrap; gap:10px; margin:0 0 14px; }
  .actions a.button, form.confirm a { display:inline-block; border:1px solid #b9c0ce; background:#fff; color:var(--fg); border-radius:6px; padding:7px 12px; text-decoration:none; font-weight:600; }
  form.confirm { display:flex; gap:12px; align-items:center; }
  form.filters { display:flex; flex-wrap:wrap; gap:8px 12px; align-items:center; margin-bottom:10px; }
  form.filters input[type=search] { min-width:220px; }
  input[type=search], input[type=date] { font:inherit; padding:6px 8px; border:1px solid #b9c0ce; border-radius:6px; }
  main { max-width:1280px; margin:0 auto; padding:20px 24px 48px; }
  h1 { font-size:22px; margin:4px 0 16px; }
  h2 { font-size:16px; margin:28px 0 10px; }
  table { width:100%; border-collapse:collapse; background:#fff; border:1px solid var(--line); border-radius:8px; overflow:hidden; }
  th, td { text-align:left; padding:7px 10px; border-bottom:1px solid var(--line); vertical-align:top; }
  th { background:#eef1f6; font-weight:600; font-size:12px; text-transform:uppercase; letter-spacing:.03em; color:var(--muted); }
  tr:last-child td { border-bottom:none; }
  td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
  a { color:var(--accent); }
  .muted { color:var(--muted); }
  .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size:12.5px; }
  h1 .mono, h2 .mono { font-size:inherit; }
  td.entry { min-width:190px; overflow-wrap:anywhere; }
  .badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; font-weight:600; background:#e6e9f0; }
  .badge.complete, .badge.ok, .badge.healthy { background:#dff3e3; color:var(--ok); }
  .badge.failed, .badge.bad, .badge.unhealthy { background:#fbe1df; color:var(--bad); }
  .badge.unpacking, .badge.unpacked, .badge.warn, .badge.degraded { background:#fff0d6; color:var(--warn); }
  .badge.flagged { background:#fbe1df; color:var(--bad); }
  .bar { position:relative; height:8px; min-width:120px; background:#e6e9f0; border-radius:4px; overflow:hidden; }
  .bar span { position:absolute; top:0; bottom:0; }
  .bar .done { background:#3a9a4f; left:0; }
  .bar .failed { background:#d04a3f; }
  .cards { display:grid; grid-template-columns:repeat(auto-fit, minmax(200px, 1fr)); gap:12px; }
  .card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
  .card .label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.03em; }
  .card .value { font-size:20px; font-weight:600; margin-top:2px; }
  .problems { background:#fbe1df; border:1px solid #efb5ae; color:#7a1a14; padding:10px 14px; border-radius:8px; }
  .warnings { background:#fff0d6; border:1px solid #f0c987; color:#5c3500; padding:10px 14px; border-radius:8px; margin-bottom:10px; }
  .notice { background:#fff; border:1px solid var(--line); padding:14px; border-radius:8px; }
  form.stack { display:flex; flex-direction:column; gap:12px; max-width:560px; }
  form.stack label { display:flex; flex-direction:column; gap:4px; font-weight:600; }
  input[type=text], input[type=password], select, textarea { font:inherit; padding:7px 9px; border:1px solid #b9c0ce; border-radius:6px; }
  fieldset { border:1px solid var(--line); border-radius:8px; padding:8px 12px; background:#fff; }
  fieldset label { display:inline-flex !important; flex-direction:row !important; gap:6px; margin-right:16px; font-weight:400 !important; }
  button.primary { background:var(--accent); color:#fff; border:none; border-radius:6px; padding:9px 16px; font:inherit; font-weight:600; cursor:pointer; }
  .transcript { background:#fff; border:1px solid var(--line); border-radius:8px; padding:12px 14px; white-space:pre-wrap; font-size:15px; }
  .error { color:var(--bad); font-weight:600; }
  .pager { margin-top:12px; display:flex; gap:12px; }
`;

const NAV: {
  section: NonNullable<PageOptions['section']>;
  href: string;
  label: string;
  show: (u: CurrentUser) => boolean;
}[] = [
  { section: 'batches', href: '/batches', label: 'Batches', show: (u) => can(u.role, 'operations:read') },
  { section: 'status', href: '/status', label: 'Health', show: (u) => can(u.role, 'operations:read') },
  { section: 'board', href: '/board', label: 'Bull Board', show: (u) => can(u.role, 'operations:read') },
  { section: 'review', href: '/review', label: 'Review', show: (u) => can(u.role, 'review') },
  { section: 'research', href: '/research', label: 'Policies', show: (u) => can(u.role, 'operations:read') },
];

/** The frame of every page of the dashboard (Bull Board brings its own). */
export function renderPage(options: PageOptions): string {
  const { user } = options;
  const nav = user
    ? NAV.filter((n) => n.show(user)).map(
        (n) =>
          html`<a href="${n.href}" class="${n.section === options.section ? 'active' : ''}">${n.label}</a>`,
      )
    : [];
  // Without a form token (an error page) the logout page's own form does it.
  const account = user
    ? options.csrfToken
      ? html`<form class="account" method="post" action="/logout">
          <span>${user.username} <span class="role">(${user.role})</span></span>
          <input type="hidden" name="_csrf" value="${options.csrfToken}" />
          <button type="submit">Log out</button>
        </form>`
      : html`<div class="account">
          <span>${user.username} <span class="role">(${user.role})</span></span>
          <a class="button" href="/logout">Log out</a>
        </div>`
    : '';
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        ${options.refreshSeconds ? html`<meta http-equiv="refresh" content="${options.refreshSeconds}" />` : ''}
        <title>${options.title} · Audio pipeline</title>
        <style>
          ${new SafeHtml(STYLE)}
        </style>
      </head>
      <body>
        <header>
          <span class="brand">Audio pipeline</span>
          <nav>${nav}</nav>
          ${account}
        </header>
        <main>${options.body}</main>
      </body>
    </html>`.value;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad request',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Cannot do that now',
  500: 'Something went wrong',
};

/** An error as a page of the dashboard: what happened, and a way back (home, or the link given). */
export function errorPage(options: {
  status: number;
  message: string;
  user?: CurrentUser | undefined;
  csrfToken?: string | undefined;
  back?: { href: string; label: string };
}): string {
  const { user } = options;
  const back =
    options.back ??
    (user
      ? { href: homePath(user.role), label: 'Back to the start page' }
      : { href: '/login', label: 'Log in' });
  const title = STATUS_TEXT[options.status] ?? `Error ${options.status}`;
  return renderPage({
    title,
    user,
    csrfToken: options.csrfToken,
    body: html`<div class="error-page">
      <h1>${options.status} · ${title}</h1>
      <p>${options.message}</p>
      <p><a class="button primary" href="${back.href}">${back.label}</a></p>
    </div>`,
  });
}
