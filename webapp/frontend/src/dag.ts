// Where each stage of a pipeline sits in its drawing: a column per depth, a row per stage.

export interface DagNode {
  name: string;
  needs: string[];
}

export interface Placed {
  name: string;
  column: number;
  row: number;
}

/** Column = the longest path from a stage with no upstream; rows in the order given. */
export function layout(nodes: DagNode[]): { placed: Placed[]; columns: number; rows: number } {
  const depth = new Map<string, number>();
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const visit = (name: string, seen: Set<string>): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    const node = byName.get(name);
    if (!node || seen.has(name)) return 0; // the server refuses cycles; never loop on one
    seen.add(name);
    const d = node.needs.reduce((most, up) => Math.max(most, visit(up, seen) + 1), 0);
    depth.set(name, d);
    return d;
  };
  for (const node of nodes) visit(node.name, new Set());
  const perColumn = new Map<number, number>();
  const placed = nodes.map((node) => {
    const column = depth.get(node.name) ?? 0;
    const row = perColumn.get(column) ?? 0;
    perColumn.set(column, row + 1);
    return { name: node.name, column, row };
  });
  return {
    placed,
    columns: Math.max(0, ...placed.map((p) => p.column)) + 1,
    rows: Math.max(0, ...perColumn.values()),
  };
}
