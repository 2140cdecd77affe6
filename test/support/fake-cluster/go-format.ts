/**
 * Go's `%v` of a value decoded from JSON into `any` (fmt/print.go printValue): maps as `map[k:v …]` with sorted
 * keys, slices as `[a b]`, strings bare, float64 as `%g` with the shortest precision (exponent form from 1e+06),
 * null as `<nil>`. Registry error details reach Flux's messages this way (go-containerregistry
 * transport.Diagnostic.String).
 */
export const goValue = (value: unknown): string => {
  if (value === null || value === undefined) return '<nil>';
  if (Array.isArray(value)) return `[${value.map(goValue).join(' ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `map[${entries.map(([key, entry]) => `${key}:${goValue(entry)}`).join(' ')}]`;
  }
  if (typeof value === 'number') {
    const exponent = Math.floor(Math.log10(Math.abs(value)));
    return value !== 0 && (exponent < -4 || exponent >= 6)
      ? value.toExponential().replace(/e([+-])(\d)$/, 'e$10$2')
      : String(value);
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
};
