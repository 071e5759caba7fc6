// Norwegian names of ISO 8601 duration parts (iso-duration ships no Norwegian).
const plural = (one, many) => (c) => (c === 1 ? one : many);
export default {
  years: plural('år', 'år'),
  months: plural('måned', 'måneder'),
  weeks: plural('uke', 'uker'),
  days: plural('dag', 'dager'),
  hours: plural('time', 'timer'),
  minutes: plural('minutt', 'minutter'),
  seconds: plural('sekund', 'sekunder'),
  decimal: ',',
};
