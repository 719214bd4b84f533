/** What the query path and rings need to know of a backend. */
export interface DownstreamServerInfo {
  /** Name as given to newServer (defaults to the address with port). */
  readonly name: string;
  /** "192.0.2.1:53" / "[2001:db8::1]:53". */
  readonly addressText: string;
}
