export const ATTRIBUTION_MODELS = ['first', 'last'] as const;
export type AttributionModel = (typeof ATTRIBUTION_MODELS)[number];

/** The attribution a visit carries: its source and the landing-page facts behind it. */
export interface AttributedTouch {
  source: string;
  medium: string | null;
  campaign: string | null;
  landingPage: string | null;
  referrer: string | null;
  /** JSON objects as stored (`{"utm_source":"google"}`), or null when the landing page had none. */
  utm: string | null;
  clickIds: string | null;
  direct: boolean;
}

export interface PreviousVisit {
  touch: AttributedTouch;
  /** When this visitor was first seen (start of the attribution window). */
  firstVisitAt: number;
}

export interface TouchInput {
  current: AttributedTouch;
  /** The visitor's latest earlier visit, if any. */
  previous: PreviousVisit | undefined;
  model: AttributionModel;
  windowDays: number;
  now: number;
}

const DAY_MS = 86_400_000;

/**
 * Which touch a returning visitor's new visit is attributed to. Inside the window (counted from the
 * visitor's first visit): first touch keeps the earlier touch; last touch takes the new one unless it
 * is direct (a bookmark or typed URL says nothing, so the earlier source stands — "last non-direct").
 * Outside the window, or for a new visitor, the new touch starts a new window (firstVisitAt = now).
 *
 * @example resolveTouch({ current: direct, previous: { touch: google, firstVisitAt: now - DAY }, model: 'first', windowDays: 30, now })
 * // { touch: google, firstVisitAt: now - DAY }
 */
export function resolveTouch(input: TouchInput): { touch: AttributedTouch; firstVisitAt: number } {
  const { current, previous, model, windowDays, now } = input;
  if (!previous || now - previous.firstVisitAt > windowDays * DAY_MS) return { touch: current, firstVisitAt: now };
  if (model === 'first' || current.direct) return { touch: previous.touch, firstVisitAt: previous.firstVisitAt };
  return { touch: current, firstVisitAt: previous.firstVisitAt };
}
