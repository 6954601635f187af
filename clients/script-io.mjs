// What the client scripts share: how they print their results and read their settings.

/** Prints one result as a JSON line on stdout: the tests read stdout line by line. */
export function print(line) {
  process.stdout.write(JSON.stringify(line) + "\n");
}

/** The value of environment variable `variable`; exits with 1, naming it, when it is not set. */
export function required(variable) {
  const value = process.env[variable];
  if (!value) {
    process.stderr.write(`${variable} is not set\n`);
    process.exit(1);
  }
  return value;
}
