// The query windows a person can pick: 1 min, 5 min, 15 min, 1 h.
import { h } from '../dom.js';

export const WINDOWS = [
  { seconds: 60, label: '1 min' },
  { seconds: 300, label: '5 min' },
  { seconds: 900, label: '15 min' },
  { seconds: 3600, label: '1 h' },
];

/** A radio group (arrow keys move within it) calling onChange(seconds). */
export function windowPicker(name, selected, onChange) {
  return h(
    'fieldset',
    { class: 'windows' },
    h('legend', {}, 'Window'),
    WINDOWS.map((w) =>
      h(
        'label',
        {},
        h('input', {
          type: 'radio',
          name,
          value: String(w.seconds),
          checked: w.seconds === selected,
          onchange: () => onChange(w.seconds),
        }),
        ` ${w.label}`,
      ),
    ),
  );
}
