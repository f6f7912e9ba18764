// Reads calendar objects as the service emits them and prints what Mozilla's ical.js (the
// parser of Thunderbird and many web calendars) makes of them, as JSON, for tests/test_calendar_clients.py.
//
// Input (stdin): {"objects": {"name": "<iCalendar text>", ...},
//                 "instants": [unix seconds, ...], "wall_times": ["2027-03-28T01:30:00", ...]}
// Output (stdout): {"objects": {"name": {"method", "timezones", "events": [...], "error"}}}
// For each object's VTIMEZONE, every instant is converted to local time and every wall-clock
// time to an instant, with the zone as written in that object (no built-in zone data).
import ICAL from "ical.js";

function text(value) {
  return value === null || value === undefined ? null : String(value);
}

function address(property) {
  if (!property) return null;
  return { value: text(property.getFirstValue()), cn: text(property.getParameter("cn")) };
}

function when(time) {
  return {
    local: time.toString(),
    tzid: time.zone ? time.zone.tzid : null,
    unix: time.toUnixTime(),
  };
}

function zoneReport(vtimezone, instants, wallTimes) {
  const zone = new ICAL.Timezone(vtimezone);
  const local = instants.map((seconds) => {
    const time = ICAL.Time.fromJSDate(new Date(seconds * 1000), true);
    const converted = time.convertToZone(zone);
    return { local: converted.toString() };
  });
  const utc = wallTimes.map((wall) => {
    const time = ICAL.Time.fromDateTimeString(wall);
    time.zone = zone;
    return time.toUnixTime();
  });
  return {
    tzid: text(vtimezone.getFirstPropertyValue("tzid")),
    rules: vtimezone.getAllSubcomponents().map((rule) => ({
      kind: rule.name,
      dtstart: text(rule.getFirstPropertyValue("dtstart")),
      rrule: text(rule.getFirstPropertyValue("rrule")),
      rdate: rule.getAllProperties("rdate").length,
      from: text(rule.getFirstPropertyValue("tzoffsetfrom")),
      to: text(rule.getFirstPropertyValue("tzoffsetto")),
    })),
    local,
    utc,
  };
}

function report(source, instants, wallTimes) {
  const root = new ICAL.Component(ICAL.parse(source));
  const timezones = root.getAllSubcomponents("vtimezone");
  for (const vtimezone of timezones) {
    ICAL.TimezoneService.register(new ICAL.Timezone(vtimezone));
  }
  const events = root.getAllSubcomponents("vevent").map((vevent) => {
    const event = new ICAL.Event(vevent);
    return {
      uid: event.uid,
      sequence: event.sequence,
      status: text(vevent.getFirstPropertyValue("status")),
      summary: event.summary,
      description: event.description,
      location: event.location,
      url: text(vevent.getFirstPropertyValue("url")),
      start: when(event.startDate),
      end: when(event.endDate),
      organizer: address(vevent.getFirstProperty("organizer")),
      attendees: vevent.getAllProperties("attendee").map(address),
    };
  });
  return {
    version: text(root.getFirstPropertyValue("version")),
    prodid: text(root.getFirstPropertyValue("prodid")),
    method: text(root.getFirstPropertyValue("method")),
    timezones: timezones.map((vtimezone) => zoneReport(vtimezone, instants, wallTimes)),
    events,
  };
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const request = JSON.parse(input);
  const objects = {};
  for (const [name, source] of Object.entries(request.objects)) {
    try {
      objects[name] = report(source, request.instants || [], request.wall_times || []);
    } catch (error) {
      objects[name] = { error: String(error && error.stack ? error.stack : error) };
    }
  }
  process.stdout.write(JSON.stringify({ objects }));
});
