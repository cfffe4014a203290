/** Small pieces every page uses. */

/** The API's last refusal, read out by screen readers as it appears. */
export function Problem({ error }: { error: string | null }) {
  return error ? (
    <p role="alert" class="error">
      {error}
    </p>
  ) : null;
}

/** A column heading screen readers read and nobody sees (the buttons of each row). */
export function HiddenHeading({ label }: { label: string }) {
  return (
    <th scope="col">
      <span class="visually-hidden">{label}</span>
    </th>
  );
}
