const dateFormat = 'DD.MM.YYYY';
const timeFormat = 'HH:mm:ss';
const dateTimeFormat = `${dateFormat} ${timeFormat}`;
const locale = require('vue2-datepicker/locale/nb');
export default {dateFormat, timeFormat, dateTimeFormat, locale};
