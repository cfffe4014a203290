/**
 * The value after `--name` in a script's arguments, or undefined when the flag is absent.
 *
 * @example flagValue(['start', '--instance', 'dev'], '--instance') // 'dev'
 */
export function flagValue(argv: readonly string[], name: string): string | undefined {
  const at = argv.indexOf(name);
  return at === -1 ? undefined : argv[at + 1];
}
