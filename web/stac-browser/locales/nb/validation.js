export default require('ajv-i18n/localize/nb');
