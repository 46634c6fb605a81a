/** Rows per page when the pageSize property is not set. The grid is virtualised, so a large page stays fast. */
export const defaultPageSize = 250;
/** Dataverse's largest page. */
export const maxPageSize = 5000;

export function clampPageSize(raw: number | null | undefined): number {
  if (raw === null || raw === undefined || !Number.isFinite(raw) || raw < 1) return defaultPageSize;
  return Math.min(maxPageSize, Math.floor(raw));
}
