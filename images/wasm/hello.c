/* hello: prints its arguments, its environment and /etc/hello.txt from its image to stdout, a
   line to stderr, then exits with the code in $EXIT_CODE (default 0). */
#include <stdio.h>
#include <stdlib.h>

extern char **environ;

int
main (int argc, char **argv)
{
  for (int i = 0; i < argc; i++)
    printf ("arg[%d]=%s\n", i, argv[i]);
  for (char **e = environ; e && *e; e++)
    printf ("env:%s\n", *e);

  FILE *f = fopen ("/etc/hello.txt", "r");
  if (f == NULL)
    printf ("file:/etc/hello.txt: cannot open\n");
  else
    {
      char line[512];
      while (fgets (line, sizeof line, f))
        printf ("file:%s", line);
      fclose (f);
    }
  fflush (stdout);

  fprintf (stderr, "hello: this line goes to stderr\n");

  const char *code = getenv ("EXIT_CODE");
  return code ? atoi (code) : 0;
}
