/** The write-tier choice every token form shows, each option with one line on what it means. */
import { TIER_MEANING, type TierShown } from '../../../access-text';
import { html, type SafeHtml } from '../html';

/**
 * Radio buttons named `tier`. With `policy`, a personal token may follow the workspace's setting (value "");
 * without it the form has no default, so nobody creates an isolated CI token by accident.
 */
export function tierField(id: string, options: { policy: boolean }): SafeHtml {
  const choices: { value: string; label: TierShown }[] = [
    ...(options.policy ? [{ value: '', label: 'workspace policy' as const }] : []),
    { value: 'trusted', label: 'trusted' },
    { value: 'isolated', label: 'isolated' },
  ];
  return html`<fieldset class="tier-field"><legend>Write tier</legend>${choices.map(
    (c, i) =>
      html`<label for="${id}-${c.label.replace(' ', '-')}"><input type="radio" id="${id}-${c.label.replace(' ', '-')}" name="tier" value="${c.value}"${options.policy && i === 0 ? html` checked` : ''} required> <strong>${c.label}</strong> <span class="hint">${TIER_MEANING[c.label]}</span></label>`,
  )}</fieldset>`;
}
