// Memory latency while running: thread CPU ns per dependent load, chasing a random cycle through 64 MiB (DRAM-bound)
// and through 256 KiB (cache-resident control), 4 times a second. Prints per second: wall second, median ns/load
// for each. Bounded: argv[1] seconds.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <stdint.h>
static double now_thread(void){struct timespec t;clock_gettime(CLOCK_THREAD_CPUTIME_ID,&t);return t.tv_sec*1e9+t.tv_nsec;}
static double now_wall(void){struct timespec t;clock_gettime(CLOCK_REALTIME,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static void **make(size_t bytes){size_t n=bytes/64; void **m=aligned_alloc(64,bytes); size_t *p=malloc(n*sizeof(size_t));
 for(size_t i=0;i<n;i++)p[i]=i; for(size_t i=n-1;i>0;i--){size_t j=((size_t)rand()*RAND_MAX+rand())%(i+1);size_t t=p[i];p[i]=p[j];p[j]=t;}
 for(size_t i=0;i<n;i++) m[p[i]*8]=&m[p[(i+1)%n]*8]; free(p); return m;}
static int cmp(const void*a,const void*b){double x=*(double*)a,y=*(double*)b;return x<y?-1:x>y;}
void * volatile sink;
int main(int c,char**v){double secs=atof(v[1]); void **big=make(64<<20), **small=make(256<<10); void **pb=big,**ps=small;
 double end=now_wall()+secs; long sec=(long)now_wall(); double bs[16],ss[16]; int k=0; const int N=50000;
 while(now_wall()<end){ double t0=now_thread(); for(int i=0;i<N;i++) pb=(void**)*pb; double t1=now_thread(); for(int i=0;i<N;i++) ps=(void**)*ps; double t2=now_thread(); sink=pb; sink=ps;
  if(k<16){bs[k]=(t1-t0)/N; ss[k]=(t2-t1)/N; k++;}
  double w=now_wall(); if((long)w!=sec){ if(k){qsort(bs,k,sizeof(double),cmp);qsort(ss,k,sizeof(double),cmp); printf("%ld.5 %.1f %.2f %d\n",sec,bs[k/2],ss[k/2],k); fflush(stdout);} k=0; sec=(long)w; }
  struct timespec d={0,250000000}; nanosleep(&d,0);} 
 sink=pb; sink=ps; return 0; }
