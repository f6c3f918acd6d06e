/** A configuration value that cannot be used; the message names the variable and its accepted forms. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    value: string,
    accepted: string,
  ) {
    super(`invalid ${variable}=${JSON.stringify(value)}: expected ${accepted}`);
    this.name = 'ConfigError';
  }
}
