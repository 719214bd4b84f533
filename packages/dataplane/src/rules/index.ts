/**
 * Rules: selectors, query and response actions, rule chains and the walks
 * over them, as dnsdist 1.7 has them. Plain TypeScript objects; the Lua
 * binding builds these from the configuration.
 */
export type { Selector, ResponseSelector, QueryAction, ResponseAction, DNSRule } from './rule-types.js';
export { RuleArgumentError, InvalidRegexError, InvalidRuleUuidError, RuleChainError, LogFileOpenError } from './rule-errors.js';
export { type MonotonicClock, performanceClock } from './monotonic-clock.js';
export { QpsLimiter, takeToken, MAX_RATE, type TokenBucketState } from './qps-limiter.js';
export { SuffixSet } from './suffix-set.js';

export { AllRule } from './selectors/all-rule.js';
export { QNameRule } from './selectors/qname-rule.js';
export { QTypeRule } from './selectors/qtype-rule.js';
export { QClassRule } from './selectors/qclass-rule.js';
export { SuffixMatchNodeRule } from './selectors/suffix-match-node-rule.js';
export { NetmaskGroupRule } from './selectors/netmask-group-rule.js';
export { RegexRule } from './selectors/regex-rule.js';
export { RE2Rule } from './selectors/re2-rule.js';
export { posixEreToJs } from './selectors/posix-regex.js';
export { MaxQPSIPRule, type MaxQPSIPRuleOptions } from './selectors/max-qps-ip-rule.js';
export { MaxQPSRule } from './selectors/max-qps-rule.js';
export { RDRule } from './selectors/rd-rule.js';
export { OpcodeRule } from './selectors/opcode-rule.js';
export { RCodeRule } from './selectors/rcode-rule.js';
export { TCPRule } from './selectors/tcp-rule.js';
export { TagRule } from './selectors/tag-rule.js';
export { AndRule } from './selectors/and-rule.js';
export { OrRule } from './selectors/or-rule.js';
export { NotRule } from './selectors/not-rule.js';
export { matchesResponseOf } from './selectors/response-match.js';
export { RecordsCountRule } from './selectors/records-count-rule.js';
export { RecordsTypeCountRule } from './selectors/records-type-count-rule.js';
export { TrailingDataRule } from './selectors/trailing-data-rule.js';
export { EDNSVersionRule } from './selectors/edns-version-rule.js';
export { EDNSOptionRule } from './selectors/edns-option-rule.js';
export { ERCodeRule } from './selectors/ercode-rule.js';
export { DSTPortRule } from './selectors/dst-port-rule.js';
export { QNameLabelsCountRule } from './selectors/qname-labels-count-rule.js';
export { QNameWireLengthRule } from './selectors/qname-wire-length-rule.js';
export { DNSSECRule } from './selectors/dnssec-rule.js';
export { ProbaRule } from './selectors/proba-rule.js';
export { PoolOutstandingRule, type PoolLoad } from './selectors/pool-outstanding-rule.js';
export { QNameSetRule, nameSetKey } from './selectors/qname-set-rule.js';
export { PoolAvailableRule, type PoolUpCount } from './selectors/pool-available-rule.js';

export { DropAction } from './actions/drop-action.js';
export { AllowAction } from './actions/allow-action.js';
export { NoneAction } from './actions/none-action.js';
export { RCodeAction } from './actions/rcode-action.js';
export { TCAction } from './actions/tc-action.js';
export { PoolAction } from './actions/pool-action.js';
export { QPSAction } from './actions/qps-action.js';
export { QPSPoolAction } from './actions/qps-pool-action.js';
export { DelayAction } from './actions/delay-action.js';
export { SpoofAction } from './actions/spoof-action.js';
export { SpoofCNAMEAction } from './actions/spoof-cname-action.js';
export { type SpoofActionOptions } from './actions/spoof-options.js';
export { LogAction, type LogActionOptions } from './actions/log-action.js';
export { SetTagAction } from './actions/set-tag-action.js';
export { NoRecurseAction, SetNoRecurseAction } from './actions/no-recurse-action.js';
export { DisableValidationAction, SetDisableValidationAction } from './actions/disable-validation-action.js';
export { SpoofRawAction } from './actions/spoof-raw-action.js';
export { SetSkipCacheAction } from './actions/set-skip-cache-action.js';
export { SetTempFailureCacheTTLAction } from './actions/set-temp-failure-cache-ttl-action.js';
export { ERCodeAction } from './actions/ercode-action.js';
export { ContinueAction } from './actions/continue-action.js';
export { SpoofSVCAction } from './actions/spoof-svc-action.js';
export { TeeAction, formatTeeStats, type TeeStats } from './actions/tee-action.js';
export { TeeActions, sumTeeStats } from './actions/tee-actions.js';
export { SetEDNSOptionAction } from './actions/set-edns-option-action.js';
export { SetDisableECSAction, SetECSAction, SetECSOverrideAction, SetECSPrefixLengthAction } from './actions/ecs-actions.js';
export {
  SetProxyProtocolValuesAction,
  SetAdditionalProxyProtocolValueAction,
  checkProxyProtocolType,
} from './actions/proxy-protocol-actions.js';
export { ProxyProtocolValueRule } from './selectors/proxy-protocol-value-rule.js';
export { NegativeAndSOAAction, type NegativeAndSOAParameters } from './actions/negative-and-soa-action.js';

export { AllowResponseAction } from './response-actions/allow-response-action.js';
export { DropResponseAction } from './response-actions/drop-response-action.js';
export { DelayResponseAction } from './response-actions/delay-response-action.js';
export { LogResponseAction } from './response-actions/log-response-action.js';
export { SetTagResponseAction } from './response-actions/set-tag-response-action.js';
export { SetSkipCacheResponseAction } from './response-actions/set-skip-cache-response-action.js';
export { type LogDestinationOptions } from './log-destination.js';
export { LogFileWriter, type LogFileOptions } from './log-file-writer.js';

export { RuleChain, newRuleEntry, type RuleEntry, type RuleOptions, type ShowRulesOptions } from './rule-chain.js';
export { parseRuleUuid, makeRuleUuid } from './rule-uuid.js';
export { applyQueryRules, applyActionResult, QueryRulesResult, type QueryRule } from './query-rules-evaluator.js';
export { applyResponseRules, type ResponseRule } from './response-rules-evaluator.js';
export { RuleChains, type RuleCounters, type ResponseChainName } from './rules-engine.js';
