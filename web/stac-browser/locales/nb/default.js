// Norsk bokmål for STAC Browser 4 (sporbar adds it in web/build.sh: STAC Browser ships no
// Norwegian). Texts not translated here fall back to English (fallbackLocale).
import Utils from '../../utils';
export default Utils.mergeDeep(
  {
    fields: require('./fields.json'),
  },
  require('./texts.json')
);
