// Which way is better for a metric, guessed from its name (users can flip it).

const LOWER_IS_BETTER = /loss|error|err$|shd|time|duration|regret|rmse|mse|mae|cost|distance/i;

export function guessMaximize(metric: string): boolean {
  return !LOWER_IS_BETTER.test(metric);
}

export function preferredMetric(names: string[]): string | null {
  for (const name of ["score", "f1", "skeleton_f1", "accuracy", "shd", "loss"]) {
    if (names.includes(name)) return name;
  }
  return names[0] ?? null;
}
