import I18N from '@radiantearth/stac-fields/I18N';

// Numbers and dates as Norwegian readers write them: decimal comma, day.month.year, UTC.
export default function run(/*locale*/) {
  const defaults = I18N.getDefaults();
  I18N.numberFormatter = new Intl.NumberFormat("nb-NO", Object.assign(defaults.numberFormatterOptions, {
    useGrouping: false,
  }));
  I18N.dateFormatter = new Intl.DateTimeFormat("nb-NO", defaults.dateFormatterOptions);
  I18N.dateTimeFormatter = new Intl.DateTimeFormat("nb-NO", {
    day: 'numeric',
    month: 'numeric',
    year: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
    timeZone: "UTC",
    timeZoneName: "short"
  });
}
