// The list of a refused submit's errors, at the top of a form, each a link to its input.

export function ErrorSummary({ links }: { links: { href: string; text: string }[] }) {
  if (!links.length) return null;
  return (
    <div class="error-summary" tabIndex={-1} aria-labelledby="error-summary-title">
      <h2 id="error-summary-title">
        The experiment was not started: {links.length} problem{links.length === 1 ? "" : "s"}
      </h2>
      <ul>
        {links.map((link) => (
          <li>
            <a href={link.href} onClick={(e) => {
              e.preventDefault();
              document.querySelector<HTMLElement>(link.href)?.focus();
            }}>
              {link.text}
            </a>
          </li>
        ))}
      </ul>
    </div>
  );
}
