/**
 * The OPT record of answers the proxy makes itself (rules, dynamic blocks,
 * spoofing actions): dnsdist's setAddEDNSToSelfGeneratedResponses and
 * setPayloadSizeOnSelfGeneratedAnswers. Every query carries the proxy's
 * settings (DNSQuestion.selfGeneratedEdns), so that an action built before
 * the configuration set them, or from Lua, answers with the values in force.
 */
import { DEFAULT_SELF_GENERATED_PAYLOAD_SIZE, resetQueryTurnedResponseOpt } from '@dnsdist-ts/dns';
import type { DNSQuestion } from './dns-question.js';

export interface SelfGeneratedEdnsSettings {
  /** Whether an answer to an EDNS query gets an OPT record (default true). */
  readonly addEDNSToSelfGeneratedResponses: boolean;
  /** The UDP payload size that OPT record advertises (default 1232). */
  readonly payloadSizeOnSelfGeneratedAnswers: number;
}

/** dnsdist's defaults; what a question not made by the query path (tests, tools) carries. */
export const DEFAULT_SELF_GENERATED_EDNS: SelfGeneratedEdnsSettings = Object.freeze({
  addEDNSToSelfGeneratedResponses: true,
  payloadSizeOnSelfGeneratedAnswers: DEFAULT_SELF_GENERATED_PAYLOAD_SIZE,
});

/**
 * A query just turned into its own answer (QR set in place): its OPT
 * record becomes a fresh one with the self-generated payload size, or
 * goes when self-generated answers carry none (dnsdist's
 * addEDNSToQueryTurnedResponse). Updates `dq.length`.
 */
export function fixUpQueryTurnedResponseOpt(dq: DNSQuestion): void {
  const s = dq.selfGeneratedEdns;
  dq.length = resetQueryTurnedResponseOpt(
    dq.packet,
    dq.length,
    dq.view.questionEnd,
    dq.ednsRcode,
    s.payloadSizeOnSelfGeneratedAnswers,
    s.addEDNSToSelfGeneratedResponses,
  );
}
