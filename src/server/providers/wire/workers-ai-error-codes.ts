// Workers AI internal error codes and the HTTP status each one is answered with
// (wire-formats §1.5: the documented table plus codes observed in the wild).
const STATUS_BY_CODE: ReadonlyMap<string, number> = new Map([
  ['3003', 400],
  ['3039', 400],
  ['5004', 400],
  ['5006', 400],
  ['5007', 400],
  ['8007', 400],
  ['10000', 401],
  ['3023', 403],
  ['3041', 403],
  ['5016', 403],
  ['5018', 403],
  ['3042', 404],
  ['5005', 405],
  ['5019', 405],
  ['3007', 408],
  ['3008', 408],
  ['3006', 413],
  ['5021', 413],
  ['3036', 429],
  ['3040', 429],
  ['4006', 429],
])

/** The HTTP status Workers AI answers a given internal code with, when the code is known. */
export function statusForWorkersAICode(code: string | undefined): number | undefined {
  return code === undefined ? undefined : STATUS_BY_CODE.get(code)
}
