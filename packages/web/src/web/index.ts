/**
 * dnsdist's webserver and API, the block API and the dashboard.
 */
export { WebService, type WebServiceOptions } from './web-service.js';
export { Webserver, SECURITY_HEADERS, defaultHeaders, type WebRoute, type WebRouteTable, type WebserverOptions } from './webserver.js';
export { WebserverConfig, DEFAULT_WEBSERVER_ACL, parseWebserverAcl } from './webserver-config.js';
export * from './webserver-limits.js';
export { WebserverClosures, WEB_CLOSE_REASONS, type WebCloseReason } from './webserver-closures.js';
export { readRequestBody, type BodyOutcome } from './web-body-reader.js';
export {
  CredentialsHolder,
  HashPasswordError,
  hashPassword,
  parseHashedPassword,
  DEFAULT_WORK_FACTOR,
  MAX_WORK_FACTOR,
  type ScryptParameters,
} from './credentials.js';
export { authClassOf, basicAuthPassword, isAuthorized, type AuthClass, type AuthSettings } from './web-authorization.js';
export type { WebRequest, WebResponse, WebHandler } from './web-exchange.js';
export { WebRoutes, ALLOW_FROM_PATH, aclConfigFragment, parseAllowFrom, type WebRouteSources } from './web-routes.js';
export {
  BLOCK_API_PATH,
  BLOCK_ACTIONS,
  BlockApiRequestError,
  handleBlockApi,
  parseBlockRequest,
  blockJson,
  type BlockApiResult,
} from './block-api.js';
export { dynBlockListJson, ebpfBlockListJson } from './block-list-json.js';
export { formatJson11, type JsonValue } from './json11-format.js';
export { DashboardData } from './dashboard-data.js';
export {
  DASHBOARD_DIR,
  DASHBOARD_PATHS,
  dashboardAsset,
  dashboardAssets,
  DashboardAssetError,
  type DashboardAsset,
} from './dashboard-assets.js';
export * from './api-status-json.js';
export { TopK } from './top-k.js';
export { connectProxyObservability, type ProxyObservabilityParts } from './proxy-observability.js';
